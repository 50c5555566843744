// No secret reaches a step's stdout or stderr. When a step command fails, the command provider puts its
// whole stdout and stderr into the error the update's log prints (pulumi/pulumi-command
// provider/pkg/provider/local/commandOutputs.go:113, remote/commandOutputs.go:101), and `logging` does not
// change that. A step receives its secrets as environment variables; the CLI replaces every value of them
// (and the password inside a URL-valued one) with [secret] in everything it writes, a migration's or a
// server's own output included.
import { isSecretEnvName } from "../../contract/patterns";

/** What a secret is written as. */
export const REDACTED = "[secret]";

/** The secret values of an environment, with the forms they may be printed in, longest first. */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < 4) continue;
    if (!isSecretEnvName(name)) continue;
    values.add(value);
    values.add(encodeURIComponent(value));
    try {
      const url = new URL(value);
      if (url.password.length >= 4) {
        values.add(url.password);
        values.add(decodeURIComponent(url.password));
      }
    } catch {
      // Not a URL: the value itself is the secret.
    }
  }
  return [...values].filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced by [secret]. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

type Write = typeof process.stdout.write;

/**
 * Redacts everything this process writes to stdout and stderr until the returned function restores the
 * streams. Each write is redacted whole: output that arrives in pieces (a child's) goes through lines().
 */
export function redactProcessOutput(env: NodeJS.ProcessEnv): () => void {
  const secrets = secretValues(env);
  if (secrets.length === 0) return () => undefined;
  const wrap = (stream: NodeJS.WriteStream): (() => void) => {
    const original = stream.write.bind(stream) as Write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : undefined;
      if (text === undefined) return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      return (original as (...args: unknown[]) => boolean)(redact(text, secrets), ...rest);
    }) as Write;
    return () => {
      stream.write = original;
    };
  };
  const restores = [wrap(process.stdout), wrap(process.stderr)];
  return () => restores.forEach((restore) => restore());
}

/**
 * A child's output as whole lines (a secret split across two chunks is still one line), each passed to
 * `emit`; `flush` emits what is left without a newline.
 */
export function lines(emit: (line: string) => void): { push(chunk: Buffer | string): void; flush(): void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk.toString();
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) emit(line);
    },
    flush() {
      if (pending !== "") emit(pending);
      pending = "";
    },
  };
}
