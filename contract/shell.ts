// The one shell quoting of every command line greenlight writes: the step commands of the program, the
// commands run on hosts, and the Pulumi commands the tools print and run. A word of safe characters
// stays as it is; any other is single-quoted, so sh hands every word over unchanged.
import { COMMAND_WORD } from "./patterns";

/** Single-quotes a word for sh unless it is made of safe characters only: 'it'\''s'. */
export function shellQuote(word: string): string {
  return COMMAND_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
