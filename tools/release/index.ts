// The release (tools/release's public function; `npm run release` is ./cli.ts): writes the next release into
// Pulumi.<stack>.yaml as `pulumi config set` would: the idle color gets the release and image, activeColor
// flips to it, schemaBreaking records the flag. Comments, order and secure: entries stay. Everything is read,
// checked and computed (prepareRelease) before anything is written (writeRelease): bad input throws
// BadInput or StackYamlError, a release the stack's state refuses (id live already, only the idle color
// healthy, tag exists) ReleaseRefusal.
import { createTwoFilesPatch } from "diff";
import * as fs from "fs";
import * as path from "path";
import { checkColorHealth } from "./health";
import { BadInput } from "../lib/io";
import { readProjectStack } from "../lib/project";
import { ReleaseChange, releaseChange, ReleaseRequest } from "./change";
import { checkReleaseInputs, ReleaseRefusal } from "./inputs";
import { checkReleaseTag, commitAndTag, releaseTagName } from "./tag";
import { applyConfigChanges } from "../lib/stack-yaml";

/** What a release is asked to do: the release (ReleaseRequest, the image optional) and where and how to check it. */
export interface ReleaseInput extends Omit<ReleaseRequest, "image"> {
  image?: string;
  sameImage: boolean;
  message?: string;
  projectDir: string;
  stackFile?: string;
  healthHost: string;
  healthTimeoutMs: number;
  /** Fronts to probe instead of the stack's own (--health-url). */
  healthUrl: string[];
  skipHealthCheck: boolean;
  /** Write nothing; a health refusal is reported, not raised. */
  dryRun: boolean;
  /** Why the health check is skipped: required with skipHealthCheck, printed with the release. */
  reason?: string;
  gitTag: boolean;
  at?: Date;
}

/** Everything a release does, computed and checked before anything is written. */
export interface PreparedRelease {
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
export async function prepareRelease(
  options: ReleaseInput,
  env: NodeJS.ProcessEnv,
): Promise<PreparedRelease> {
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
  if (options.skipHealthCheck && !options.reason?.trim())
    throw new BadInput(
      "--skip-health-check: give --reason '<why>' (e.g. 'first release: nothing serves yet'); it is printed with the release",
    );
  const health = options.skipHealthCheck
    ? [
        `health check skipped (--skip-health-check): ${options.reason?.trim()}; no front was probed, and the idle color was not checked for being the only healthy one`,
      ]
    : await checkColorHealth({
        stack: options.stack,
        settings: change.settings,
        activeColor: change.activeColor,
        host: options.healthHost,
        timeoutMs: options.healthTimeoutMs,
        urls: options.healthUrl,
      }).catch((error: unknown) => {
        // A dry run shows the change wherever it runs (a laptop that cannot reach production's fronts):
        // it says the release would be refused, and refuses nothing.
        if (options.dryRun && error instanceof ReleaseRefusal) return [`WOULD REFUSE: ${error.message}`];
        throw error;
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
export function stackFileDiff(prepared: PreparedRelease): string {
  const name = path.basename(prepared.stackFile);
  return createTwoFilesPatch(`a/${name}`, `b/${name}`, prepared.before, prepared.after, "", "", {
    context: 2,
  })
    .split("\n")
    .filter((line) => !line.startsWith("===="))
    .join("\n");
}

/**
 * Writes a prepared release: the stack file, then with `gitTag` its commit and the annotated tag. Returns
 * the line to print about git (undefined without `gitTag`), or why a git step failed (the file is written).
 */
export function writeRelease(
  prepared: PreparedRelease,
  options: Pick<ReleaseInput, "stack" | "release" | "gitTag">,
  env: NodeJS.ProcessEnv,
): { done: string } | { failed: string } | undefined {
  const { stackFile, tag, message, image } = prepared;
  fs.writeFileSync(stackFile, prepared.after);
  if (!options.gitTag) return undefined;
  return commitAndTag(
    { stackFile, tag, message, stack: options.stack, release: options.release, image },
    env,
  );
}
