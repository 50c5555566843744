// npm run release -- --stack <s> --release <id> (--image <ref> | --same-image) [--schema-breaking] [--message …] [--dry-run]
// Writes the next release into Pulumi.<stack>.yaml as `pulumi config set` would: the idle color gets the
// release and image, activeColor flips to it, schemaBreaking records the flag. Comments, order and secure:
// entries stay. Everything is checked before anything is written; --dry-run prints the stack file's diff
// and the tag instead of writing them. Prints the preview/up commands to run next.
// Exit 0: written (or shown); 1: refused by the stack's state (id live already, only the idle color
// healthy, tag exists, a git step failed); 2: usage or bad input (nothing written).
// This is the command line; the release itself is ./index.ts.
import { Command, InvalidArgumentError } from "commander";
import { EXIT } from "../../contract/exit-codes";
import * as path from "path";
import { formatCommand, pulumiPreview, pulumiUp } from "../lib/commands";
import {
  BadInput,
  failure,
  instantOption,
  parseCommandLine,
  positiveIntegerOption,
  processIo,
  runAsScript,
  ToolIo,
  withUserPaths,
} from "../lib/io";
import { describeOverride, overrideOptions } from "../lib/override";
import { ReleaseRefusal } from "./inputs";
import { StackYamlError } from "../lib/stack-yaml";
import { PROJECT_DIR } from "../lib/project-root";
import { PreparedRelease, prepareRelease, ReleaseInput, stackFileDiff, writeRelease } from "./index";

interface ReleaseOptions extends ReleaseInput {
  json: boolean;
}

/** `--health-url`, repeatable: an http(s) URL, collected in order. */
function httpUrlOption(value: string, previous: string[]): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      `expected an http(s) URL such as https://shop.example.com/health, got ${JSON.stringify(value)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidArgumentError(`expected an http(s) URL, got ${JSON.stringify(value)}`);
  return [...previous, url.href];
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
    .option(
      "--preview",
      "bring the release up migrated, gated and smoke-tested on the preview front only (greenlight:promote false); users stay on the serving color until npm run promote",
      false,
    )
    .option("--message <text>", "update message for `pulumi up` and the git tag")
    .option("--dry-run", "print the stack file's diff and the tag, write nothing", false)
    .option("--project-dir <dir>", "the Pulumi project (holds Pulumi.yaml)", PROJECT_DIR)
    .option("--stack-file <path>", "the stack file to change (default: <project-dir>/Pulumi.<stack>.yaml)")
    .option(
      "--health-host <host>",
      "on a stack without hosts: where the proxy and both colors' ports answer /health",
      "127.0.0.1",
    )
    .option(
      "--health-url <url>",
      "probe this URL instead of each host's front (the stack's public URL, e.g. https://shop.example.com/health); repeatable",
      httpUrlOption,
      [] as string[],
    )
    .option("--health-timeout-ms <ms>", "timeout of one /health probe", positiveIntegerOption, 3000)
    .option(
      "--skip-health-check",
      "do not probe the fronts and colors (needs --reason; stated in the output)",
      false,
    )
    .option("--reason <why>", "why the health check is skipped (with --skip-health-check)")
    .option("--git-tag", "commit the stack file and create the annotated tag release/<stack>/<id>", false)
    .option(
      "--at <time>",
      "instant with a zone the override expiry is judged at, e.g. 2026-11-24T11:00:00Z (default: now)",
      instantOption,
    )
    .option("--json", "print what was written (or would be) as JSON", false);
  return overrideOptions(command, "release", "the incident or change ticket");
}

/** Runs the release tool; returns its exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ToolIo = processIo,
): Promise<number> {
  const parsed = parseCommandLine<ReleaseOptions>(releaseCommand(), argv, io);
  if ("exitCode" in parsed) return parsed.exitCode;
  const options = withUserPaths(parsed.options, ["projectDir", "stackFile"], env);
  const fail = failure(io, "release");

  let prepared: PreparedRelease;
  try {
    prepared = await prepareRelease(options, env);
  } catch (error) {
    if (error instanceof ReleaseRefusal) return fail(EXIT.refused, error.message);
    if (error instanceof BadInput) return fail(EXIT.usage, error.problems);
    if (error instanceof StackYamlError) return fail(EXIT.usage, error.message);
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
    const tagged = writeRelease(prepared, options, env);
    if (tagged !== undefined) {
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
  const headline = options.preview
    ? `release ${options.release} → ${options.stack}: ${idleColor} gets it on the preview front only; users stay on ${activeColor} (${activeRelease}) until npm run promote -- --stack ${options.stack}`
    : `release ${options.release} → ${options.stack}: ${idleColor} gets it and becomes active; ${activeColor} keeps ${activeRelease} warm for a rollback`;
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
