// What the rollback's tests share: the saved histories, the stack file each recorded update deployed,
// project folders to run the commands against, and the fixtures' image digests.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { updateStackConfig } from "../../../tools/history/config";
import { parseHistoryText, StackUpdate } from "../../../tools/history/read";
import { readStackConfig } from "../../../tools/harness/stack-file";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const fixture = (name: string) => path.join(ROOT, "tests", "fixtures", "history", name);
// The fixtures' images are registry.example.com/shop@sha256:<sha256 of the release id>.
export const image = (release: string) =>
  `registry.example.com/shop@sha256:${crypto.createHash("sha256").update(release).digest("hex")}`;
export const POLICY = [
  "--policy-pack",
  "policies",
  "--policy-pack-config",
  "policies/config/production.json",
];

/** A saved history's updates, oldest first. */
export function historyOf(name: string): StackUpdate[] {
  const file = fixture(name);
  return parseHistoryText(fs.readFileSync(file, "utf8"), file);
}

/**
 * The stack file a recorded update deployed, as the engine had it (secrets as secure: entries whose value
 * no test needs): what a stack's Pulumi.<stack>.yaml holds after that update.
 */
export function stackFileOf(history: string, version: number, stack = "production"): string {
  const update = historyOf(history).find((entry) => entry.version === version) as StackUpdate;
  const config = updateStackConfig(update, readStackConfig(ROOT, stack));
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config.stackValues))
    body[key] = value.secure ? { secure: "v1:c2VjcmV0LXZhbHVl:c2VjcmV0LXZhbHVlLXZhbHVl" } : value.value;
  return stringify({ config: body });
}

/** A project folder under `parent` with the repository's Pulumi.yaml and the given stack files. */
export function makeProject(parent: string, name: string, stackFiles: Record<string, string>): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const [stack, text] of Object.entries(stackFiles))
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  return dir;
}

/**
 * A stand-in `pulumi` (the real CLI cannot be installed here): records its argv, fails at STANDIN_FAIL_AT.
 * With STANDIN_WRITES=1 its `config set` writes the key into Pulumi.<stack>.yaml in its working directory
 * as the real CLI does; with STANDIN_SIGINT_AT=<n> its n-th call sends SIGINT to its parent's process
 * group (the tool run as a terminal's foreground job), as Ctrl-C does, and waits to be stopped by it.
 */
export function standIn(dir: string): { env: NodeJS.ProcessEnv; calls: () => string[][] } {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const log = path.join(dir, "calls.jsonl");
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!${process.execPath}
const fs = require("fs");
fs.appendFileSync(process.env.STANDIN_LOG, JSON.stringify(process.argv.slice(2)) + "\\n");
const calls = fs.readFileSync(process.env.STANDIN_LOG, "utf8").trim().split("\\n").length;
const [verb, sub, key, value, , stack] = process.argv.slice(2);
if (String(calls) === process.env.STANDIN_SIGINT_AT) {
  process.kill(-process.ppid, "SIGINT");
  setTimeout(() => process.exit(0), 10000);
  return;
}
if (String(calls) === process.env.STANDIN_FAIL_AT) {
  process.stderr.write("error: stand-in told to fail at call " + calls + "\\n");
  process.exit(Number(process.env.STANDIN_FAIL_CODE || 1));
}
if (process.env.STANDIN_WRITES === "1" && verb === "config" && sub === "set" && !key.startsWith("-")) {
  const yaml = require(${JSON.stringify(require.resolve("yaml"))});
  const file = "Pulumi." + stack + ".yaml";
  const document = yaml.parse(fs.readFileSync(file, "utf8"));
  document.config[key] = value;
  fs.writeFileSync(file, yaml.stringify(document));
}
`,
    { mode: 0o755 },
  );
  return {
    env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`, STANDIN_LOG: log },
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as string[])
        : [],
  };
}

/**
 * A stand-in `node` in the same bin folder, for the plan's `node bin/greenlight-ops.js restore` steps:
 * the preflight passes, the restore itself exits STANDIN_RESTORE_EXIT (default 4; the real ones are tested against real services in
 * tests/ops/restore/). Everything else it hands to the real node.
 */
export function standInNode(dir: string): void {
  fs.writeFileSync(
    path.join(dir, "bin", "node"),
    `#!/bin/sh
case "$*" in
  *"greenlight-ops.js restore"*--preflight*) echo "restore: preflight passed (stand-in)" >&2; exit 0 ;;
  *"greenlight-ops.js restore"*) echo "restore: stand-in restore exits \${STANDIN_RESTORE_EXIT:-4}" >&2; exit "\${STANDIN_RESTORE_EXIT:-4}" ;;
esac
exec ${JSON.stringify(process.execPath)} "$@"
`,
    { mode: 0o755 },
  );
}
