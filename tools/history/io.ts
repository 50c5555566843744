// Where a lifecycle tool writes; tests pass their own.

export interface ToolIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** A prompt for a secret needs a terminal. */
  stdinIsTTY: boolean;
}

export const processIo: ToolIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdinIsTTY: Boolean(process.stdin.isTTY),
};
