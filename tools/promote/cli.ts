// npm run promote -- --stack <s> [--project-dir <dir>] [--stack-file <path>] [--json]
// Writes the promotion of a previewed release into Pulumi.<stack>.yaml as `pulumi config set
// greenlight:promote true` would: the next `pulumi up` runs the switch (or its canary steps) and its
// guard, nothing else — the previewed color's containers, backup and migration are already in place, and
// its gate runs again only if its containers changed meanwhile (the switch's triggers hold their ids).
// Exit 0: written; 1: nothing to promote (the stack is not previewing); 2: usage or bad input.
import { Command } from "commander";
import * as fs from "fs";
import { formatCommand, pulumiPreview, pulumiUp } from "../lib/commands";
import { BadInput, failure, parseCommandLine, processIo, runAsScript, ToolIo } from "../lib/io";
import { readProjectStack } from "../lib/project";
import { PROJECT_DIR } from "../lib/project-root";
import { StackYamlError, applyConfigChanges } from "../lib/stack-yaml";

export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

interface PromoteOptions {
  stack: string;
  projectDir: string;
  stackFile?: string;
  json: boolean;
}

/** Runs the promote tool; returns its exit code. */
export async function main(argv: string[], io: ToolIo = processIo): Promise<number> {
  const parsed = parseCommandLine<PromoteOptions>(
    new Command("promote")
      .description(
        "Write the promotion of the previewed color into Pulumi.<stack>.yaml (greenlight:promote true)",
      )
      .requiredOption("--stack <name>", "stack whose previewed release to promote")
      .option("--project-dir <dir>", "the Pulumi project (holds Pulumi.yaml)", PROJECT_DIR)
      .option("--stack-file <path>", "the stack file to change (default: <project-dir>/Pulumi.<stack>.yaml)")
      .option("--json", "print what was written as JSON", false),
    argv,
    io,
  );
  if ("exitCode" in parsed) return parsed.exitCode;
  const { options } = parsed;
  const fail = failure(io, "promote");
  try {
    const { file, config } = readProjectStack(options.projectDir, options.stack, options.stackFile);
    const values = config.config;
    const color = values["greenlight:activeColor"];
    if (values["greenlight:promote"] !== "false") {
      return fail(
        EXIT.refused,
        `${file}: nothing to promote: greenlight:promote is ${values["greenlight:promote"] ?? "not set (true)"}, so ${color ?? "the active color"} already takes the traffic at the next update; release with --preview to preview first`,
      );
    }
    const release = values[`greenlight:${color}Release`];
    const before = fs.readFileSync(file, "utf8");
    fs.writeFileSync(
      file,
      applyConfigChanges(before, { set: { "greenlight:promote": "true" }, remove: [] }, file),
    );
    const message = `promote ${release} on ${color} in ${options.stack}`;
    const next = [
      formatCommand(pulumiPreview(options.stack)),
      formatCommand(pulumiUp(options.stack, message, false)),
    ];
    const steps = values["greenlight:trafficSteps"];
    if (options.json) {
      io.out(
        JSON.stringify(
          { stack: options.stack, stackFile: file, color, release, steps: steps ?? "[]", next },
          null,
          2,
        ) + "\n",
      );
      return EXIT.ok;
    }
    io.out(
      [
        `promote ${release} → ${options.stack}: the next update moves the users to ${color}${steps && steps !== "[]" ? ` in steps ${steps}` : " in one move"}; the switch and its guard run, nothing else`,
        `wrote ${file} (as pulumi config set would):`,
        `  greenlight:promote: false → true`,
        "next:",
        ...next.map((command) => `  ${command}`),
      ].join("\n") + "\n",
    );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof BadInput || error instanceof StackYamlError) return fail(EXIT.usage, error.message);
    throw error;
  }
}

if (require.main === module) runAsScript("promote", () => main(process.argv.slice(2)));
