// Command lines of the release steps: `node bin/greenlight-ops.js <step> --flag 'value' …`. Every
// value is validated by the component that passes it and shell-quoted here, so no config value can
// change what the shell runs; secrets never come through here (they go in `environment`).

/** The ops CLI as the command resources call it, relative to the project directory Pulumi runs in. */
export const OPS_CLI = "node bin/greenlight-ops.js";

/** Single-quotes a word for sh: 'it'\''s'. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A flag and its value; `true` is a bare flag, `false`/undefined leave it out, a list repeats it. */
export type FlagValue = string | number | boolean | undefined | readonly (string | number)[];

/** `node bin/greenlight-ops.js <step> --a 'x' --b 2 …`, flags in the given order. */
export function opsCommand(step: string, flags: Record<string, FlagValue>): string {
  if (!/^[a-z][a-z-]*$/.test(step)) throw new Error(`ops step ${JSON.stringify(step)} is not a step name`);
  const words = [OPS_CLI, step];
  for (const [flag, value] of Object.entries(flags)) {
    if (!/^[a-z][a-z0-9-]*$/.test(flag))
      throw new Error(`ops flag ${JSON.stringify(flag)} is not a flag name`);
    if (value === undefined || value === false) continue;
    if (value === true) {
      words.push(`--${flag}`);
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value])
      words.push(`--${flag}`, shellQuote(String(item)));
  }
  return words.join(" ");
}

/** Parses the JSON lines a step printed on stdout (empty under preview and mocks). */
export function stepOutputs(stdout: string | undefined): Record<string, unknown>[] {
  return (stdout ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
