// npm run release -- --stack <s> --release <id> (--image <ref> | --same-image) [--schema-breaking] [--message …] [--dry-run]
// Writes the next release into Pulumi.<stack>.yaml as `pulumi config set` would: the idle color gets the
// release and image, activeColor flips to it, schemaBreaking records the flag. Comments, order and secure:
// entries stay. Everything is checked before anything is written; --dry-run prints the stack file's diff
// and the tag instead of writing them. Prints the preview/up commands to run next.
// Exit 0: written (or shown); 1: refused by the stack's state (id live already, only the idle color
// healthy, tag exists, a git step failed); 2: usage or bad input (nothing written).
import { Command } from "commander";
import { createTwoFilesPatch } from "diff";
import * as fs from "fs";
import * as path from "path";
import { formatCommand, pulumiPreview, pulumiUp } from "../lib/commands";
import { checkColorHealth } from "./health";
import {
  BadInput,
  failure,
  instantOption,
  parseCommandLine,
  positiveIntegerOption,
  processIo,
  runAsScript,
  ToolIo,
} from "../lib/io";
import { describeOverride, overrideOptions } from "../lib/override";
import { readProjectStack } from "../lib/project";
import { ReleaseChange, releaseChange, ReleaseRequest } from "./change";
import { checkReleaseInputs, ReleaseRefusal } from "./inputs";
import { checkReleaseTag, commitAndTag, releaseTagName } from "./tag";
import { applyConfigChanges, StackYamlError } from "../lib/stack-yaml";
import { PROJECT_DIR } from "../lib/project-root";

export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

interface ReleaseOptions extends Omit<ReleaseRequest, "image"> {
  image?: string;
  sameImage: boolean;
  message?: string;
  projectDir: string;
  stackFile?: string;
  healthHost: string;
  healthTimeoutMs: number;
  skipHealthCheck: boolean;
  gitTag: boolean;
  at?: Date;
  json: boolean;
  dryRun: boolean;
}

function releaseCommand(): Command {
  const command = new Command("release")
    .description("Write the next release into Pulumi.<stack>.yaml as `pulumi config set` would")
    .requiredOption("--stack <name>", "stack to release to (local, staging, production)")
    .requiredOption("--release <id>", "release id: 1-64 letters, digits, '.', '_' or '-'")
    .option("--image <ref>", "image of the release; production needs a digest (name@sha256:…)")
    .option(
      "--same-image",
      "release the serving color's image again with the stack file's current settings (a setting or limit change goes out like a release: idle color, gate, switch)",
      false,
    )
    .option(
      "--schema-breaking",
      "the release's migration is not backward compatible (rollback restores a backup)",
      false,
    )
    .option("--message <text>", "update message for `pulumi up` and the git tag")
    .option("--dry-run", "print the stack file's diff and the tag, write nothing", false)
    .option("--project-dir <dir>", "the Pulumi project (holds Pulumi.yaml)", PROJECT_DIR)
    .option("--stack-file <path>", "the stack file to change (default: <project-dir>/Pulumi.<stack>.yaml)")
    .option("--health-host <host>", "where both colors' ports answer /health", "127.0.0.1")
    .option("--health-timeout-ms <ms>", "timeout of one /health probe", positiveIntegerOption, 3000)
    .option("--skip-health-check", "do not probe the colors (stated in the output)", false)
    .option("--git-tag", "commit the stack file and create the annotated tag release/<stack>/<id>", false)
    .option(
      "--at <time>",
      "instant with a zone the override expiry is judged at, e.g. 2026-11-24T11:00:00Z (default: now)",
      instantOption,
    )
    .option("--json", "print what was written (or would be) as JSON", false);
  return overrideOptions(command, "release", "the incident or change ticket");
}

/** Everything a release does, computed and checked before anything is written. */
interface PreparedRelease {
  stackFile: string;
  /** The stack file's text now and after the release. */
  before: string;
  after: string;
  change: ReleaseChange;
  /** The values the stack file held before, by key. */
  previous: Record<string, string>;
  message: string;
  tag: string;
  health: string[];
  /** The release's image (the serving color's with --same-image). */
  image: string;
}

/** Reads, checks and computes the release; throws BadInput, ReleaseRefusal or StackYamlError. */
async function prepareRelease(options: ReleaseOptions, env: NodeJS.ProcessEnv): Promise<PreparedRelease> {
  const now = options.at ?? new Date();
  if ((options.image === undefined) === !options.sameImage)
    throw new BadInput(
      options.sameImage
        ? "--image and --same-image: give one (--same-image reuses the serving color's image)"
        : "--image: missing; give the release's image, or --same-image to release the serving color's image with new settings",
    );
  const { file: stackFile, config: base } = readProjectStack(
    options.projectDir,
    options.stack,
    options.stackFile,
  );
  // A setting or limit change goes out like a release: the idle color gets the serving color's image
  // with the stack file's settings, is gated and switched to; the serving color keeps what it runs.
  const activeColor = base.config["greenlight:activeColor"];
  const image = options.sameImage ? base.config[`greenlight:${activeColor}Image`] : options.image;
  if (image === undefined)
    throw new BadInput(`--same-image: ${stackFile} has no greenlight:${activeColor}Image to release again`);
  const request: ReleaseRequest = { ...options, image };
  checkReleaseInputs({ ...request, requireDigest: base.config["greenlight:requireDigest"] === "true" });
  const before = fs.readFileSync(stackFile, "utf8");
  const change = releaseChange(base, request, stackFile, now);
  const after = applyConfigChanges(before, change.changes, stackFile);
  const tag = releaseTagName(options.stack, options.release);
  if (options.gitTag) checkReleaseTag(path.dirname(stackFile), tag, env);
  const health = options.skipHealthCheck
    ? [
        "health check skipped (--skip-health-check): the idle color was not checked for being the only healthy one",
      ]
    : await checkColorHealth({
        stack: options.stack,
        settings: change.settings,
        activeColor: change.activeColor,
        host: options.healthHost,
        timeoutMs: options.healthTimeoutMs,
      });
  return {
    stackFile,
    before,
    after,
    change,
    previous: base.config,
    message: options.message ?? `release ${options.release} to ${options.stack}`,
    tag,
    health,
    image,
  };
}

/** The stack file's change as a unified diff, paths as git prints them. */
function stackFileDiff(prepared: PreparedRelease): string {
  const name = path.basename(prepared.stackFile);
  return createTwoFilesPatch(`a/${name}`, `b/${name}`, prepared.before, prepared.after, "", "", {
    context: 2,
  })
    .split("\n")
    .filter((line) => !line.startsWith("===="))
    .join("\n");
}

/** Runs the release tool; returns its exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ToolIo = processIo,
): Promise<number> {
  const parsed = parseCommandLine<ReleaseOptions>(releaseCommand(), argv, io);
  if ("exitCode" in parsed) return parsed.exitCode;
  const { options } = parsed;
  const fail = failure(io, "release");

  let prepared: PreparedRelease;
  try {
    prepared = await prepareRelease(options, env);
  } catch (error) {
    if (error instanceof ReleaseRefusal) return fail(EXIT.refused, error.message);
    if (error instanceof BadInput || error instanceof StackYamlError) return fail(EXIT.usage, error.message);
    throw error;
  }
  const { stackFile, change, tag, message } = prepared;

  const gitLines: string[] = [];
  if (options.dryRun) {
    gitLines.push(
      options.gitTag
        ? `would commit ${path.basename(stackFile)} and create the annotated tag ${tag}`
        : `no git tag (--git-tag would commit ${path.basename(stackFile)} and create the annotated tag ${tag})`,
    );
  } else {
    fs.writeFileSync(stackFile, prepared.after);
    if (options.gitTag) {
      const tagged = commitAndTag(
        { stackFile, tag, message, stack: options.stack, release: options.release, image: prepared.image },
        env,
      );
      if ("failed" in tagged) return fail(EXIT.refused, tagged.failed);
      gitLines.push(tagged.done);
    }
  }

  const { activeColor, activeRelease, idleColor, override, changes } = change;
  const report = {
    stack: options.stack,
    stackFile,
    dryRun: options.dryRun,
    release: options.release,
    image: prepared.image,
    sameImage: options.sameImage,
    color: idleColor,
    previousColor: activeColor,
    warm: { color: activeColor, release: activeRelease },
    schemaBreaking: options.schemaBreaking,
    set: Object.entries(changes.set).map(([key, value]) => ({
      key,
      from: prepared.previous[key] ?? "(not set)",
      to: value,
    })),
    removed: changes.remove,
    override: override ?? null,
    health: prepared.health,
    tag: options.gitTag ? tag : null,
    ...(options.dryRun ? { diff: stackFileDiff(prepared) } : {}),
    next: [
      formatCommand(pulumiPreview(options.stack)),
      formatCommand(
        pulumiUp(
          options.stack,
          override !== undefined ? `${message} (${describeOverride(override)})` : message,
          false,
        ),
      ),
    ],
  };
  if (options.json) {
    io.out(JSON.stringify(report, null, 2) + "\n");
    return EXIT.ok;
  }
  const headline = `release ${options.release} → ${options.stack}: ${idleColor} gets it and becomes active; ${activeColor} keeps ${activeRelease} warm for a rollback`;
  const lines = options.dryRun
    ? [
        `${headline} (dry run: nothing written)`,
        `would change ${stackFile} (as pulumi config set would):`,
        stackFileDiff(prepared).trimEnd(),
      ]
    : [
        headline,
        `wrote ${stackFile} (as pulumi config set would):`,
        ...report.set.map((entry) => `  ${entry.key}: ${entry.from} → ${entry.to}`),
        ...changes.remove.map(
          (key) =>
            `  ${key}: removed (pulumi config rm; the previous release's emergency override ends here)`,
        ),
      ];
  lines.push(
    ...(override !== undefined ? [`  ${describeOverride(override)}`] : []),
    ...prepared.health.map((line) => `health: ${line}`),
    ...gitLines,
    options.dryRun ? "next, once written (run again without --dry-run):" : "next:",
    ...report.next.map((command) => `  ${command}`),
  );
  io.out(lines.join("\n") + "\n");
  return EXIT.ok;
}

if (require.main === module) runAsScript("release", () => main(process.argv.slice(2)));
