// How the docker provider writes back what it created, for the values greenlight sets: the program
// passes each value in the form the provider reads back (so a second `pulumi up` changes nothing), the
// schema refuses a value the provider cannot read back as the same number, and the harness models the
// read-back with the same functions. Sources: kreuzwerker/terraform-provider-docker v4.5.0
// (5074970c, the release pulumi-docker v5.1.0 pins; docs/engine.md says which release v5.2.0 bridges).

/** Nanoseconds in one second: docker keeps CPU limits as NanoCPUs. */
const NANO = 1_000_000_000n;

/**
 * The CPU count as docker's `opts.ParseCPUs` stores it (NanoCPUs): a decimal with at most nine
 * fractional digits, exact. Undefined for anything else.
 */
export function nanoCpus(value: string): bigint | undefined {
  const match = /^(\d+)(?:\.(\d{0,9}))?$/.exec(value);
  if (!match) return undefined;
  return BigInt(match[1]) * NANO + BigInt((match[2] ?? "").padEnd(9, "0"));
}

/** `big.Rat.FloatString(digits)` of nano/1e9: rounded to nearest, halves away from zero. */
function floatString(nano: bigint, digits: number): string {
  const scale = 10n ** BigInt(9 - digits);
  const scaled = (nano + scale / 2n) / scale;
  const unit = 10n ** BigInt(digits);
  const whole = (scaled / unit).toString();
  return digits === 0 ? whole : `${whole}.${(scaled % unit).toString().padStart(digits, "0")}`;
}

/**
 * What the provider stores for `cpus` after it created a container: Read sets
 * `nanoInt64ToDecimalString(HostConfig.NanoCPUs)` (internal/provider/resource_docker_container_funcs.go:946-948,
 * internal/provider/helpers.go:133-150): nine decimals, then one decimal when the text holds exactly
 * nine zeros ("2" → "2.0", "0.5" → "0.5", "0.05" → "0.1"), else trailing zeros trimmed ("10" → "10.").
 */
export function dockerCpusReadBack(value: string): string | undefined {
  const nano = nanoCpus(value);
  if (nano === undefined) return undefined;
  if (nano === 0n) return "0";
  const nine = floatString(nano, 9);
  if ((nine.match(/0/g) ?? []).length === 9) return floatString(nano, 1);
  return nine.replace(/0+$/, "");
}

/**
 * The form of `cpus` greenlight passes to the provider: its read-back, when that is the same number of
 * CPUs (so config "2" is passed as "2.0"). Undefined when the provider would read back another number
 * (0.05 CPUs is stored as "0.1") and every update would replace the container.
 */
export function canonicalDockerCpus(value: string): string | undefined {
  const nano = nanoCpus(value);
  const readBack = dockerCpusReadBack(value);
  if (nano === undefined || readBack === undefined) return undefined;
  return nanoCpus(readBack) === nano ? readBack : undefined;
}

/**
 * Go's `time.Duration.String()` for whole seconds, as the provider writes healthcheck durations back
 * (resource_docker_container_funcs.go:960-969): 5 → "5s", 60 → "1m0s", 3600 → "1h0m0s".
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0)
    throw new Error(`goDuration: ${seconds} is not a whole number of seconds`);
  if (seconds === 0) return "0s";
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${rest}s`;
  if (minutes > 0) return `${minutes}m${rest}s`;
  return `${rest}s`;
}

/** Go's `time.ParseDuration` for the forms the provider accepts (ms|s|m|h, combined), in nanoseconds. */
export function parseGoDuration(text: string): bigint | undefined {
  if (text === "0") return 0n;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text) return undefined;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  return parts.reduce(
    (sum, [, amount, suffix]) => sum + BigInt(Math.round(Number(amount) * unit[suffix])),
    0n,
  );
}

/** `time.Duration.String()` of a duration given as text: what Read writes back for it. */
export function goDurationReadBack(text: string): string | undefined {
  const nanos = parseGoDuration(text);
  if (nanos === undefined || nanos % NANO !== 0n) return nanos === undefined ? undefined : text;
  return goDuration(Number(nanos / NANO));
}
