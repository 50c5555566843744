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

/** A stand-in `pulumi` (the real CLI cannot be installed here): records its argv, fails at STANDIN_FAIL_AT. */
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
if (String(calls) === process.env.STANDIN_FAIL_AT) {
  process.stderr.write("error: stand-in told to fail at call " + calls + "\\n");
  process.exit(Number(process.env.STANDIN_FAIL_CODE || 1));
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
