// npm run release -- --stack <s> --release <id> --image <ref> [--schema-breaking] [--message …]
// Writes the next release into Pulumi.<stack>.yaml as `pulumi config set` would: the idle color gets the
// release and image, activeColor flips to it, schemaBreaking records the flag. Comments, order and secure:
// entries stay. A refused release never touches the file. Prints the preview/up commands to run next.
// Exit 0: written; 1: refused; 2: usage or unreadable files.
import { spawnSync } from "child_process";
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import {
  failure,
  instantOption,
  parseCommandLine,
  positiveIntegerOption,
  processIo,
  ToolIo,
} from "./history/io";
import { ConfigError, parseStackConfig } from "../schema/parse";
import { IMAGE_DIGEST, IMAGE_REF, RELEASE_ID } from "../schema/patterns";
import { Color, otherColor } from "../schema/types";
import { applyOverrides, readStackConfig, StackFileError } from "./harness/stack-file";
import { formatCommand, pulumiPreview, pulumiUp } from "./history/commands";
import { ColorHealth, describeHealth, healthy, probe } from "./history/health";
import {
  describeOverride,
  OVERRIDE_KEYS,
  OverrideFlags,
  overrideFromFlags,
  overrideOptions,
} from "./history/override";
import { applyConfigChanges, ConfigChanges, StackYamlError } from "./history/stack-yaml";

export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

interface ReleaseOptions extends OverrideFlags {
  stack: string;
  release: string;
  image: string;
  schemaBreaking: boolean;
  message?: string;
  projectDir: string;
  stackFile?: string;
  healthHost: string;
  healthTimeoutMs: number;
  skipHealthCheck: boolean;
  gitTag: boolean;
  at?: Date;
  json: boolean;
}

/** The refusal of a release, with what to do instead. */
class Refusal extends Error {}

function releaseCommand(): Command {
  const command = new Command("release")
    .description("Write the next release into Pulumi.<stack>.yaml as `pulumi config set` would")
    .requiredOption("--stack <name>", "stack to release to (local, staging, production)")
    .requiredOption("--release <id>", "release id: 1-64 letters, digits, '.', '_' or '-'")
    .requiredOption("--image <ref>", "image of the release; production needs a digest (name@sha256:…)")
    .option(
      "--schema-breaking",
      "the release's migration is not backward compatible (rollback restores a backup)",
      false,
    )
    .option("--message <text>", "update message for `pulumi up` and the git tag")
    .option("--project-dir <dir>", "the Pulumi project (holds Pulumi.yaml)", path.resolve(__dirname, ".."))
    .option("--stack-file <path>", "the stack file to change (default: <project-dir>/Pulumi.<stack>.yaml)")
    .option("--health-host <host>", "where both colors' ports answer /health", "127.0.0.1")
    .option("--health-timeout-ms <ms>", "timeout of one /health probe", positiveIntegerOption, 3000)
    .option("--skip-health-check", "do not probe the colors (stated in the output)", false)
    .option("--git-tag", "commit the stack file and create the annotated tag release/<stack>/<id>", false)
    .option("--at <time>", "ISO-8601 instant the override expiry is judged at (default: now)", instantOption)
    .option("--json", "print what was written as JSON", false);
  return overrideOptions(command, "release", "the incident or change ticket");
}

/** Refuses release ids and images that must never reach a stack file. */
function checkInputs(options: ReleaseOptions): void {
  if (!RELEASE_ID.test(options.release)) {
    throw new Refusal(
      `--release ${JSON.stringify(options.release)}: use 1-64 letters, digits, '.', '_' or '-' (no spaces or shell characters)`,
    );
  }
  if (options.release.toLowerCase() === "latest") {
    throw new Refusal(
      `--release latest: name the release (e.g. ${new Date().toISOString().slice(0, 10).replace(/-/g, ".")}-1); "latest" moves`,
    );
  }
  if (!IMAGE_REF.test(options.image)) {
    throw new Refusal(
      `--image ${JSON.stringify(options.image)}: expected a Docker image reference such as registry.example.com/shop@sha256:<64 hex digits>`,
    );
  }
  const withoutDigest = options.image.replace(IMAGE_DIGEST, "");
  const lastSegment = withoutDigest.split("/").pop() ?? withoutDigest;
  const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
  const pinned = IMAGE_DIGEST.test(options.image);
  if (tag === "latest" || (tag === undefined && !pinned)) {
    throw new Refusal(
      `--image ${options.image}: ${tag === "latest" ? "the latest tag" : "no tag means latest, which"} moves under a running release; ` +
        "give a release tag, or better a digest (name@sha256:…)",
    );
  }
  if (options.stack === "production" && !pinned) {
    throw new Refusal(
      `--image ${options.image}: production runs images pinned by digest, a tag can be moved; ` +
        "use name@sha256:<digest> (docker buildx imagetools inspect <ref> prints it)",
    );
  }
}

function git(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync("git", args, { cwd, env, encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}`.trim() };
}

/** Runs the release tool; returns its exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ToolIo = processIo,
): Promise<number> {
  const parsed = parseCommandLine<ReleaseOptions>(releaseCommand(), argv, EXIT);
  if ("exitCode" in parsed) return parsed.exitCode;
  const { options } = parsed;
  const fail = failure(io, "release");
  const now = options.at ?? new Date();
  const stackFile = path.resolve(
    options.stackFile ?? path.join(options.projectDir, `Pulumi.${options.stack}.yaml`),
  );

  try {
    checkInputs(options);

    let base;
    let text: string;
    try {
      base = readStackConfig(options.projectDir, options.stack, stackFile);
      text = fs.readFileSync(stackFile, "utf8");
    } catch (error) {
      if (error instanceof StackFileError) return fail(EXIT.usage, error.message);
      throw error;
    }
    const activeValue = base.config["greenlight:activeColor"];
    if (activeValue !== "blue" && activeValue !== "green") {
      throw new Refusal(
        `${stackFile}: greenlight:activeColor is ${JSON.stringify(activeValue ?? "(not set)")}; set it to the color serving traffic (blue or green) first`,
      );
    }
    const activeColor: Color = activeValue;
    const idleColor = otherColor(activeColor);
    const activeRelease = base.config[`greenlight:${activeColor}Release`];
    const idleRelease = base.config[`greenlight:${idleColor}Release`];
    if (options.release === activeRelease) {
      throw new Refusal(
        `release ${options.release} is already live on ${activeColor} in ${options.stack}; a new release needs a new id`,
      );
    }
    if (options.release === idleRelease) {
      throw new Refusal(
        `release ${options.release} is already on the idle color ${idleColor}; to make it live, flip instead: ` +
          `pulumi config set greenlight:activeColor ${idleColor} --stack ${options.stack} (or npm run rollback)`,
      );
    }

    const override = overrideFromFlags(options, now);
    if (override !== undefined && "problems" in override) throw new Refusal(override.problems.join("; "));

    const changes: ConfigChanges = {
      set: {
        [`greenlight:${idleColor}Release`]: options.release,
        [`greenlight:${idleColor}Image`]: options.image,
        "greenlight:activeColor": idleColor,
        "greenlight:schemaBreaking": String(options.schemaBreaking),
      },
      remove: [],
    };
    const overrideKeys = Object.values(OVERRIDE_KEYS).map((key) => `greenlight:${key}`);
    if (override !== undefined) {
      for (const [field, key] of Object.entries(OVERRIDE_KEYS) as [keyof typeof OVERRIDE_KEYS, string][]) {
        changes.set[`greenlight:${key}`] = override[field];
      }
    } else {
      // An override is for one emergency: the next release does not inherit it.
      changes.remove = overrideKeys.filter((key) => base.config[key] !== undefined);
    }

    const next = applyOverrides(base, {
      ...changes.set,
      ...Object.fromEntries(changes.remove.map((key) => [key, null])),
    });
    let settings;
    try {
      settings = parseStackConfig({
        stack: options.stack,
        values: next.config,
        secretKeys: new Set(next.secretKeys),
        now,
      });
    } catch (error) {
      if (error instanceof ConfigError) {
        throw new Refusal(`the stack file would not be valid after this release:\n${error.message}`);
      }
      throw error;
    }

    const message = options.message ?? `release ${options.release} to ${options.stack}`;
    const tag = `release/${options.stack}/${options.release}`;
    const gitDir = path.dirname(stackFile);
    if (options.gitTag) {
      if (!git(["rev-parse", "--is-inside-work-tree"], gitDir, env).ok) {
        throw new Refusal(`--git-tag: ${gitDir} is not inside a git work tree`);
      }
      if (!git(["check-ref-format", `refs/tags/${tag}`], gitDir, env).ok) {
        throw new Refusal(
          `--git-tag: ${tag} is not a valid git tag name (a release id may not contain '..' or end in '.lock')`,
        );
      }
      if (git(["rev-parse", "-q", "--verify", `refs/tags/${tag}`], gitDir, env).ok) {
        throw new Refusal(`--git-tag: tag ${tag} exists already; a release id is used once`);
      }
    }

    const healthLines: string[] = [];
    if (options.skipHealthCheck) {
      healthLines.push(
        "health check skipped (--skip-health-check): the idle color was not checked for being the only healthy one",
      );
    } else {
      const url = (color: Color) =>
        `http://${options.healthHost}:${settings.colors[color].hostPort}${settings.app.healthPath}`;
      const [active, idle]: ColorHealth[] = await Promise.all([
        probe(activeColor, url(activeColor), options.healthTimeoutMs),
        probe(idleColor, url(idleColor), options.healthTimeoutMs),
      ]);
      healthLines.push(describeHealth(active, "active"), describeHealth(idle, "idle"));
      if (!healthy(active) && healthy(idle)) {
        throw new Refusal(
          `${describeHealth(active, "active")}, but ${describeHealth(idle, "idle")}: this release would overwrite the only ` +
            `healthy color. Flip to ${idleColor} first (npm run rollback -- --stack ${options.stack}), or pass --skip-health-check if you know better`,
        );
      }
      if (!healthy(active) && !healthy(idle)) {
        healthLines.push(
          "neither color answered 200: cannot tell which is healthy (is --health-host right?)",
        );
      }
    }

    fs.writeFileSync(stackFile, applyConfigChanges(text, changes, stackFile));

    const gitLines: string[] = [];
    if (options.gitTag) {
      const steps: string[][] = [
        ["add", "--", stackFile],
        ["commit", "-m", message, "--", stackFile],
        [
          "tag",
          "-a",
          tag,
          "-m",
          `${message}\n\nstack: ${options.stack}\nrelease: ${options.release}\nimage: ${options.image}`,
        ],
      ];
      for (const step of steps) {
        const result = git(step, gitDir, env);
        if (!result.ok) {
          return fail(
            EXIT.refused,
            `wrote ${stackFile}, but \`git ${step.join(" ")}\` failed: ${result.output.split("\n").pop()}; create the tag by hand`,
          );
        }
      }
      gitLines.push(
        `committed ${path.basename(stackFile)} and tagged it ${tag}; publish with: git push origin HEAD ${tag}`,
      );
    }

    const previous = (key: string) => base.config[key] ?? "(not set)";
    const report = {
      stack: options.stack,
      stackFile,
      release: options.release,
      image: options.image,
      color: idleColor,
      previousColor: activeColor,
      warm: { color: activeColor, release: activeRelease },
      schemaBreaking: options.schemaBreaking,
      set: Object.entries(changes.set).map(([key, value]) => ({ key, from: previous(key), to: value })),
      removed: changes.remove,
      override: override ?? null,
      health: healthLines,
      tag: options.gitTag ? tag : null,
      next: [
        formatCommand(pulumiPreview(options.stack)),
        formatCommand(pulumiUp(options.stack, upMessage(message, override), false)),
      ],
    };
    if (options.json) {
      io.out(JSON.stringify(report, null, 2) + "\n");
      return EXIT.ok;
    }
    const lines = [
      `release ${options.release} → ${options.stack}: ${idleColor} gets it and becomes active; ${activeColor} keeps ${activeRelease} warm for a rollback`,
      `wrote ${stackFile} (as pulumi config set would):`,
      ...report.set.map((entry) => `  ${entry.key}: ${entry.from} → ${entry.to}`),
      ...changes.remove.map(
        (key) => `  ${key}: removed (pulumi config rm; the previous release's emergency override ends here)`,
      ),
      ...(override !== undefined ? [`  ${describeOverride(override)}`] : []),
      ...healthLines.map((line) => `health: ${line}`),
      ...gitLines,
      "next:",
      ...report.next.map((command) => `  ${command}`),
    ];
    io.out(lines.join("\n") + "\n");
    return EXIT.ok;
  } catch (error) {
    if (error instanceof Refusal) return fail(EXIT.refused, error.message);
    if (error instanceof StackYamlError) return fail(EXIT.usage, error.message);
    throw error;
  }
}

function upMessage(message: string, override: ReturnType<typeof overrideFromFlags>): string {
  return override !== undefined && !("problems" in override)
    ? `${message} (${describeOverride(override)})`
    : message;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
