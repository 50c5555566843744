// One channel to a proxy's admin socket kept open in HAProxy's interactive mode (the `prompt` command):
// HAProxy then ends each answer with its prompt instead of closing the session, so every runtime command
// after the first costs one round trip in the open channel, not a new forwarded channel and a new CLI
// session. Checked on HAProxy 2.6 (cli.c): `prompt` is answered by the prompt alone, and an answer
// without its trailing "> " is byte for byte what the one-shot mode returns before it closes.
import type { Duplex } from "stream";

/** What HAProxy writes after every answer in interactive mode; `prompt` itself is answered by it alone. */
export const PROMPT = "\n> ";

/**
 * HAProxy ends a CLI session idle for `stats timeout` (10 s by default, not set by ops/proxy/config.ts;
 * 2.6 does not always do it): a session idle this long is replaced rather than reused, so no command
 * races that close.
 */
export const IDLE_REUSE_MS = 8000;

/** Longest answer kept (`show stat` of a few backends is a few KiB): memory stays bounded. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Commands that would change or end the session itself, and so the framing of every later answer. */
const SESSION_COMMANDS = /^\s*(prompt|quit)(\s|$)/;

/** Refuses a command that would break an interactive session (HAProxy's `prompt` toggles, `quit` ends it). */
export function checkSessionCommand(text: string): void {
  if (SESSION_COMMANDS.test(text))
    throw new Error(`runtime command ${JSON.stringify(text)} would change the control channel's own session`);
}

interface Waiting {
  resolve(answer: string): void;
  reject(error: Error): void;
}

/** A stream to HAProxy's admin socket in interactive mode: one command at a time, answers framed by the prompt. */
export class InteractiveSession {
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** The `prompt` command's own answer (the prompt alone) comes before the first command's. */
  private awaitingAck = true;
  private waiting: Waiting | undefined;
  private closedWith: string | undefined;
  private usedAt = Date.now();

  /** `name` is how failures name the socket ("HAProxy admin socket /path"). */
  constructor(
    private readonly stream: Duplex & { close?(): void },
    private readonly name: string,
    private readonly idleReuseMs = IDLE_REUSE_MS,
  ) {
    stream.on("data", (chunk: Buffer) => this.receive(chunk));
    stream.once("error", (error: Error) => this.fail(`${name} over SSH: ${error.message}`));
    stream.once("end", () => {
      stream.end();
      this.fail(`${name}: the channel closed before the answer ended`);
    });
    stream.once("close", () => this.fail(`${name}: the channel closed before the answer ended`));
    // Written at once: the first command follows in the same round trip, not after the acknowledgement.
    stream.write("prompt\n");
  }

  /** Open, not answering anything, and idle for less than HAProxy's idle timeout. */
  get reusable(): boolean {
    return (
      this.closedWith === undefined &&
      this.waiting === undefined &&
      Date.now() - this.usedAt < this.idleReuseMs
    );
  }

  /** Sends one command and resolves with HAProxy's whole answer, as the one-shot mode returns it. */
  send(text: string): Promise<string> {
    if (this.closedWith !== undefined) return Promise.reject(new Error(this.closedWith));
    if (this.waiting !== undefined)
      return Promise.reject(new Error(`${this.name}: a command is already running`));
    this.usedAt = Date.now();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.stream.write(`${text}\n`);
    });
  }

  /** Ends the session; a command still waiting fails with `why`. */
  close(why = `${this.name}: the channel was closed`): void {
    this.fail(why);
    if (this.stream.close) this.stream.close();
    else this.stream.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.closedWith !== undefined || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.awaitingAck) {
      if (this.bytes < PROMPT.length) return;
      const data = Buffer.concat(this.chunks);
      if (data.subarray(0, PROMPT.length).toString("latin1") !== PROMPT) {
        this.close(
          `${this.name}: HAProxy did not enter interactive mode (it answered ${JSON.stringify(data.subarray(0, 80).toString("utf8"))})`,
        );
        return;
      }
      this.awaitingAck = false;
      const rest = data.subarray(PROMPT.length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.bytes = rest.length;
    }
    if (this.bytes > MAX_ANSWER_BYTES) {
      this.close(`${this.name}: an answer longer than ${MAX_ANSWER_BYTES} bytes`);
      return;
    }
    // The last three chunks hold at least the last three bytes (no chunk is empty).
    if (this.bytes < PROMPT.length) return;
    const end = Buffer.concat(this.chunks.slice(-PROMPT.length)).subarray(-PROMPT.length);
    if (end.toString("latin1") !== PROMPT) return;
    const answer = Buffer.concat(this.chunks).subarray(0, this.bytes - (PROMPT.length - 1));
    this.chunks = [];
    this.bytes = 0;
    this.usedAt = Date.now();
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting.resolve(answer.toString("utf8"));
    else this.close(`${this.name}: HAProxy wrote without being asked`);
  }

  private fail(why: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = why;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(new Error(why));
  }
}
