// Every problem of a command line at once, before commander parses it: commander stops at the first
// (and checks required options before unknown ones, so `--stak local` read "required option '--stack'
// not specified"), and takes the next word as a value even when it is another option (`--stack --json`).
// Each problem is one line; a mistyped option carries commander's own "Did you mean …?".
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";

/** The message commander gives an unknown option, with its suggestion, from a probe of long flags only. */
function unknownOptionMessage(command: Command, flag: string): string {
  const probe = new Command(command.name()).exitOverride().configureOutput({
    writeOut: () => undefined,
    writeErr: () => undefined,
    outputError: () => undefined,
  });
  for (const option of command.options) if (option.long) probe.option(option.long);
  try {
    probe.parse([flag], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError)
      return error.message
        .replace(/^error: /, "")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "")
        .join(" ");
  }
  return `unknown option '${flag}'`;
}

/** Whether a word is an option rather than a value (`-` alone and negative numbers are values). */
function looksLikeOption(word: string): boolean {
  return /^--?[A-Za-z]/.test(word);
}

function findOption(command: Command, flag: string): Option | undefined {
  return command.options.find((option) => option.long === flag || option.short === flag);
}

/**
 * The problems of `argv` for `command`, one line each (no tool prefix): unknown options, an option whose
 * value is missing or is another option, values the option's parser refuses, required options not given,
 * stray arguments. Empty when commander's parse will succeed, or when help is asked for.
 */
export function commandLineProblems(command: Command, argv: readonly string[]): string[] {
  if (argv.some((word) => word === "--help" || word === "-h")) return [];
  const problems: string[] = [];
  const given = new Set<Option>();
  const previous = new Map<Option, unknown>();
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index];
    if (word === "--") break;
    if (!looksLikeOption(word)) {
      if (command.registeredArguments.length === 0)
        problems.push(`too many arguments for '${command.name()}': '${word}' (every option starts with --)`);
      continue;
    }
    const [flag, inline] = word.startsWith("--") && word.includes("=") ? word.split(/=(.*)/s) : [word];
    const option = findOption(command, flag);
    if (option === undefined) {
      problems.push(unknownOptionMessage(command, flag));
      // The word after a mistyped option is most likely its value, not a stray argument.
      if (inline === undefined && argv[index + 1] !== undefined && !looksLikeOption(argv[index + 1])) index++;
      continue;
    }
    given.add(option);
    if (!option.required && !option.optional) continue;
    let value = inline;
    if (value === undefined) {
      const next = argv[index + 1];
      if (next !== undefined && !looksLikeOption(next)) {
        value = next;
        index++;
      } else if (option.required) {
        problems.push(
          next === undefined
            ? `option '${option.flags}' argument missing`
            : `option '${option.flags}' needs a value, but the next word is the option '${next}'; give ${option.long ?? flag} its value first`,
        );
        continue;
      }
    }
    if (value === undefined || option.parseArg === undefined) continue;
    try {
      // As commander does: the first value is parsed against the option's default (a repeatable option's []).
      const before = previous.has(option) ? previous.get(option) : option.defaultValue;
      previous.set(option, option.parseArg(value, before));
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      problems.push(`option '${option.flags}' argument '${value}' is invalid. ${error.message}`);
    }
  }
  for (const option of command.options) {
    if (!option.mandatory || given.has(option) || option.defaultValue !== undefined) continue;
    // A mistyped flag already named this one ("Did you mean --stack?"): once is enough.
    if (problems.some((problem) => problem.includes(`Did you mean ${option.long}?`))) continue;
    problems.push(`required option '${option.flags}' not specified`);
  }
  return problems;
}
