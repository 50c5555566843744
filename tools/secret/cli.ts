// Pulumi's passphrase secrets provider (AES-256-GCM, key from PBKDF2-SHA256 with 1,000,000 iterations),
// so a stack file's `secure:` values can be written without the Pulumi CLI:
//   PULUMI_CONFIG_PASSPHRASE=... npm run secret -- --stack local --key greenlight:appPassword < value.txt
// Refused before anything is written (exit 2, one line): a key greenlight does not read or that is not a
// secret (for an app variable: not listed in greenlight:secretEnv), an empty value, a missing project or stack file, a passphrase that does not open the stack file.
// This is the command line; the provider and the checks are ./index.ts.
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { BadInput, failure, parseCommandLine, processIo, runAsScript, ToolIo, userPath } from "../lib/io";
import { requireProjectFiles } from "../lib/project";
import { PROJECT_DIR } from "../lib/project-root";
import { checkSecretKey, checkSecretValue, listedSecretEnv, setSecretInStackFile } from "./index";

interface SecretOptions {
  stack: string;
  key: string;
  projectDir: string;
}

/** Runs the secret tool; returns its exit code. `readValue` reads the secret (stdin by default). */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ToolIo = processIo,
  readValue: () => string = () => fs.readFileSync(0, "utf8"),
): Promise<number> {
  const parsed = parseCommandLine<SecretOptions>(
    new Command("secret")
      .description("Encrypt a value from stdin into Pulumi.<stack>.yaml with the passphrase secrets provider")
      .requiredOption("--stack <name>", "stack whose file to change")
      .requiredOption(
        "--key <key>",
        "secret config key, e.g. greenlight:appPassword or greenlight-env:SESSION_SECRET",
      )
      .option("--project-dir <dir>", "the Pulumi project (holds Pulumi.yaml)", PROJECT_DIR),
    argv,
    io,
  );
  if ("exitCode" in parsed) return parsed.exitCode;
  const { stack, key } = parsed.options;
  const projectDir = userPath(parsed.options.projectDir, env);
  const fail = failure(io, "secret");
  try {
    const file = requireProjectFiles(projectDir, stack);
    checkSecretKey(key, stack, listedSecretEnv(file));
    const passphrase = env.PULUMI_CONFIG_PASSPHRASE;
    if (!passphrase) {
      throw new BadInput("PULUMI_CONFIG_PASSPHRASE is not set: export the stack's passphrase first");
    }
    const value = readValue().replace(/\r?\n$/, "");
    checkSecretValue(key, value);
    setSecretInStackFile(file, key, value, passphrase);
    io.out(`set ${key} (secret) in ${path.basename(file)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof BadInput) return fail(2, error.problems);
    throw error;
  }
}

if (require.main === module) runAsScript("secret", () => main(process.argv.slice(2)));
