// Generates Pulumi.yaml's `config:` block and the README's configuration reference from schema/keys/.
// `npm run gen:config` writes them (`-- --check` only says whether they drifted: exit 1, writes nothing);
// tests/tools/gen-config/gen-config.test.ts fails when they drift. `--help` and usage errors write nothing.
// This is the command line; what it generates is ./index.ts.
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { BadInput, failure, parseCommandLine, processIo, runAsScript, ToolIo, userPath } from "../lib/io";
import { PROJECT_DIR } from "../lib/project-root";
import { renderProjectFile, spliceReference } from "./index";

/** Runs gen:config; returns its exit code (0: written or in step; 1: --check found drift; 2: usage). */
export async function main(argv: string[], io: ToolIo = processIo): Promise<number> {
  const parsed = parseCommandLine<{ check: boolean; projectDir: string }>(
    new Command("gen:config")
      .description(
        "Write Pulumi.yaml's config: block and the README's configuration reference from schema/keys/",
      )
      .option("--check", "only report whether the files differ from the schema; write nothing", false)
      .option("--project-dir <dir>", "the project whose files to write", PROJECT_DIR),
    argv,
    io,
  );
  if ("exitCode" in parsed) return parsed.exitCode;
  const { check } = parsed.options;
  const projectDir = userPath(parsed.options.projectDir);
  const projectPath = path.join(projectDir, "Pulumi.yaml");
  const readmePath = path.join(projectDir, "README.md");
  const fail = failure(io, "gen:config");
  let files: { file: string; now: string; generated: string }[];
  try {
    if (!fs.existsSync(readmePath))
      throw new BadInput(`${readmePath} does not exist; pass --project-dir <the project>`);
    const readme = fs.readFileSync(readmePath, "utf8");
    files = [
      {
        file: projectPath,
        now: fs.existsSync(projectPath) ? fs.readFileSync(projectPath, "utf8") : "",
        generated: renderProjectFile(),
      },
      { file: readmePath, now: readme, generated: spliceReference(readme) },
    ];
  } catch (error) {
    if (error instanceof BadInput) return fail(2, error.problems);
    throw error;
  }
  const drifted = files.filter((entry) => entry.now !== entry.generated);
  if (check) {
    if (drifted.length === 0) {
      io.out("Pulumi.yaml and the README configuration reference match schema/keys/\n");
      return 0;
    }
    return fail(
      1,
      `${drifted.map((entry) => path.basename(entry.file)).join(" and ")} ${drifted.length === 1 ? "differs" : "differ"} from schema/keys/; run npm run gen:config`,
    );
  }
  for (const entry of drifted) fs.writeFileSync(entry.file, entry.generated);
  io.out(
    drifted.length === 0
      ? "Pulumi.yaml and the README configuration reference already match schema/keys/; nothing written\n"
      : `wrote ${drifted.map((entry) => path.basename(entry.file)).join(" and ")} from schema/keys/\n`,
  );
  return 0;
}

if (require.main === module) runAsScript("gen:config", () => main(process.argv.slice(2)));
