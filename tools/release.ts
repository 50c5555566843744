// npm run release -- --stack <s> --release <id> --image <ref> [--schema-breaking] [--message …]
// Writes the next release into Pulumi.<stack>.yaml as `pulumi config set` would: the idle color gets the
// release and image, activeColor flips to it, schemaBreaking records the flag. Comments, order and secure:
// entries stay. A refused release never touches the file. Prints the preview/up commands to run next.
// Exit 0: written; 1: refused; 2: usage or unreadable files.
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { readStackConfig, StackFileError } from "./harness/stack-file";
import { formatCommand, pulumiPreview, pulumiUp } from "./history/commands";
import { checkColorHealth } from "./history/health";
import {
  failure,
  instantOption,
  parseCommandLine,
  positiveIntegerOption,
  processIo,
  ToolIo,
} from "./history/io";
import { describeOverride, overrideOptions } from "./history/override";
import { releaseChange, ReleaseRequest } from "./history/release-change";
import { checkReleaseInputs, ReleaseRefusal } from "./history/release-inputs";
import { checkReleaseTag, commitAndTag, releaseTagName } from "./history/release-tag";
import { applyConfigChanges, StackYamlError } from "./history/stack-yaml";

export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

interface ReleaseOptions extends ReleaseRequest {
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
    checkReleaseInputs(options);

    let base;
    let text: string;
    try {
      base = readStackConfig(options.projectDir, options.stack, stackFile);
      text = fs.readFileSync(stackFile, "utf8");
    } catch (error) {
      if (error instanceof StackFileError) return fail(EXIT.usage, error.message);
      throw error;
    }
    const { activeColor, activeRelease, idleColor, override, changes, settings } = releaseChange(
      base,
      options,
      stackFile,
      now,
    );

    const message = options.message ?? `release ${options.release} to ${options.stack}`;
    const tag = releaseTagName(options.stack, options.release);
    if (options.gitTag) checkReleaseTag(path.dirname(stackFile), tag, env);

    const healthLines = options.skipHealthCheck
      ? [
          "health check skipped (--skip-health-check): the idle color was not checked for being the only healthy one",
        ]
      : await checkColorHealth({
          stack: options.stack,
          settings,
          activeColor,
          host: options.healthHost,
          timeoutMs: options.healthTimeoutMs,
        });

    fs.writeFileSync(stackFile, applyConfigChanges(text, changes, stackFile));

    const gitLines: string[] = [];
    if (options.gitTag) {
      const tagged = commitAndTag(
        { stackFile, tag, message, stack: options.stack, release: options.release, image: options.image },
        env,
      );
      if ("failed" in tagged) return fail(EXIT.refused, tagged.failed);
      gitLines.push(tagged.done);
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
    if (error instanceof ReleaseRefusal) return fail(EXIT.refused, error.message);
    if (error instanceof StackYamlError) return fail(EXIT.usage, error.message);
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
