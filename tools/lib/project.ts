// Reading the project the way every tool must before it changes anything: Pulumi.yaml and the stack's
// file exist (or one line names the missing file and the fix), and no key sits in a namespace that only
// looks like ours (`greenlite:memoryMb` would be passed on by Pulumi and never read by the program).
import * as fs from "fs";
import * as path from "path";
import { namespaceProblem } from "../../schema/namespaces";
import { readStackConfig, StackConfig, StackFileError } from "../harness/stack-file";
import { BadInput } from "./io";

/** The stacks that have a file in the project directory. */
export function knownStacks(projectDir: string): string[] {
  return fs
    .readdirSync(projectDir)
    .map((entry) => /^Pulumi\.(.+)\.yaml$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

/** The stack file's path, after checking that it and Pulumi.yaml exist; BadInput names what is missing. */
export function requireProjectFiles(projectDir: string, stack: string, stackFile?: string): string {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(projectDir) || !fs.statSync(projectDir).isDirectory()) {
    throw new BadInput(
      `--project-dir ${projectDir}: no such directory; give the folder that holds Pulumi.yaml`,
    );
  }
  if (!fs.existsSync(projectFile)) {
    throw new BadInput(
      `${projectFile} does not exist: run this in the greenlight project, or pass --project-dir <the folder that holds Pulumi.yaml>`,
    );
  }
  const file = path.resolve(stackFile ?? path.join(projectDir, `Pulumi.${stack}.yaml`));
  if (!fs.existsSync(file)) {
    const known = knownStacks(projectDir);
    throw new BadInput(
      stackFile !== undefined
        ? `--stack-file ${file} does not exist`
        : `${file} does not exist: there is no stack "${stack}" in this project` +
            (known.length > 0 ? ` (its stacks: ${known.join(", ")}); check --stack` : "") +
            `, or create it with pulumi stack init ${stack}`,
    );
  }
  return file;
}

/** Refuses config keys in a namespace that looks like ours but is not (did you mean greenlight:…?). */
export function checkNamespaces(keys: Iterable<string>, source: string): void {
  for (const key of keys) {
    const problem = namespaceProblem(key);
    if (problem !== undefined) throw new BadInput(`${source}: ${problem.message}`);
  }
}

/** The stack's config as the engine would pass it, from files that exist and keys in our namespaces. */
export function readProjectStack(
  projectDir: string,
  stack: string,
  stackFile?: string,
): { file: string; config: StackConfig } {
  const file = requireProjectFiles(projectDir, stack, stackFile);
  let config: StackConfig;
  try {
    config = readStackConfig(projectDir, stack, file);
  } catch (error) {
    if (error instanceof StackFileError) throw new BadInput(error.message);
    throw error;
  }
  checkNamespaces(Object.keys(config.config), path.basename(file));
  return { file, config };
}
