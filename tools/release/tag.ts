// `release --git-tag`: the annotated tag release/<stack>/<id>, checked before the stack file is written,
// then created with a commit of that file.
import { spawnSync } from "child_process";
import * as path from "path";
import { BadInput } from "../lib/io";
import { ReleaseRefusal } from "./inputs";

/** The tag a release gets: release/<stack>/<id>. */
export function releaseTagName(stack: string, release: string): string {
  return `release/${stack}/${release}`;
}

function git(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync("git", args, { cwd, env, encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}`.trim() };
}

/** Refuses a tag that cannot be created: no work tree or an invalid name (BadInput), a tag that exists already. */
export function checkReleaseTag(gitDir: string, tag: string, env: NodeJS.ProcessEnv): void {
  if (!git(["rev-parse", "--is-inside-work-tree"], gitDir, env).ok) {
    throw new BadInput(
      `--git-tag: ${gitDir} is not inside a git work tree; run in a clone of the project, or leave out --git-tag`,
    );
  }
  if (!git(["check-ref-format", `refs/tags/${tag}`], gitDir, env).ok) {
    throw new BadInput(
      `--git-tag: ${tag} is not a valid git tag name (a release id may not contain '..' or end in '.lock')`,
    );
  }
  if (git(["rev-parse", "-q", "--verify", `refs/tags/${tag}`], gitDir, env).ok) {
    throw new ReleaseRefusal(`--git-tag: tag ${tag} exists already; a release id is used once`);
  }
}

/** What the tag describes. */
export interface TaggedRelease {
  stackFile: string;
  tag: string;
  message: string;
  stack: string;
  release: string;
  image: string;
}

/** Commits the stack file and tags it: the line to print, or why a git step failed. */
export function commitAndTag(
  tagged: TaggedRelease,
  env: NodeJS.ProcessEnv,
): { done: string } | { failed: string } {
  const { stackFile, tag, message } = tagged;
  const gitDir = path.dirname(stackFile);
  const steps: string[][] = [
    ["add", "--", stackFile],
    ["commit", "-m", message, "--", stackFile],
    [
      "tag",
      "-a",
      tag,
      "-m",
      `${message}\n\nstack: ${tagged.stack}\nrelease: ${tagged.release}\nimage: ${tagged.image}`,
    ],
  ];
  for (const step of steps) {
    const result = git(step, gitDir, env);
    if (!result.ok) {
      return {
        failed: `wrote ${stackFile}, but \`git ${step.join(" ")}\` failed: ${result.output.split("\n").pop()}; create the tag by hand`,
      };
    }
  }
  return {
    done: `committed ${path.basename(stackFile)} and tagged it ${tag}; publish with: git push origin HEAD ${tag}`,
  };
}
