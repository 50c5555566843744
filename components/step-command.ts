// Pure helpers of the step command resources, data and release alike: the ops CLI line
// (`node bin/greenlight-ops.js <step> --flag 'value' …`, every value validated by the component that
// passes it and shell-quoted here, so no config value can change what the shell runs), the environment
// the data steps read their connections from (secrets as Pulumi secrets, plain GREENLIGHT_* markers for
// the policy pack), and the JSON lines the steps print. Secrets never go on a command line.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FlagValue, checkStepAndEnv, flagWords, opsRunCommand } from "../ops/hosts/remote";
import { shellQuote } from "../contract/shell";
import { KEEP_REPORT_COMMAND, STEP_ENV } from "../contract/resources";
import { DATABASE_CA_ENV } from "../contract/database-tls";

/** The ops CLI as the command resources call it, relative to the project directory Pulumi runs in. */
export const OPS_CLI = "node bin/greenlight-ops.js";

/**
 * A step's command resource (@pulumi/command 1.x). Only stdout, the step's one JSON report, goes to the
 * update's log; stderr (progress, and on failure an app's or a server's own error text) is not logged
 * and is kept encrypted in the state (additionalSecretOutputs), as the provider's `logging` docs advise
 * for output that may carry secrets (pulumi/pulumi-command provider/pkg/provider/local/base.go). The
 * previous run's output is not passed back in (addPreviousOutputInEnv), so no step reads stale reports —
 * except to the once-per-release steps' update (ONCE_PER_RELEASE), which prints it again.
 * What makes it run again: any input change (create, environment, triggers) — provider/pkg/provider/
 * common/inputs.go: triggers replace, and without an `update` command an update runs `create` again.
 */
export function stepCommand(
  name: string,
  args: command.local.CommandArgs,
  opts: pulumi.CustomResourceOptions,
  on?: HostConnection,
): StepResource {
  const options = { ...opts, additionalSecretOutputs: ["stderr", ...(opts.additionalSecretOutputs ?? [])] };
  if (on === undefined)
    return new command.local.Command(
      name,
      { logging: "stdout", addPreviousOutputInEnv: false, ...args },
      options,
    );
  // On a host over SSH: every environment entry is sent as an SSH "env" request, which sshd must accept
  // (AcceptEnv GREENLIGHT_* PG* AWS_* DATABASE_URL; provider/pkg/provider/remote/commandOutputs.go).
  const { create, update, environment, triggers, addPreviousOutputInEnv } = args;
  return new command.remote.Command(
    name,
    {
      connection: {
        host: on.address,
        port: on.port,
        user: on.user,
        privateKey: pulumi.secret(on.privateKey),
        // The host's pinned key: the provider verifies it with ssh.FixedHostKey during the key exchange,
        // before authenticating or sending any environment, and ignores the host key when this is unset
        // (pulumi/pulumi-command provider/pkg/provider/remote/connection.go, SSHConfig; since v1.1.0).
        hostKey: on.hostKey,
        // A host that does not answer fails the step after a few tries instead of waiting for minutes.
        dialErrorLimit: 3,
      },
      create,
      update,
      environment,
      triggers,
      logging: "stdout",
      addPreviousOutputInEnv: addPreviousOutputInEnv ?? false,
    },
    options,
  );
}

/**
 * The arguments that make a step run once per release (backup, drill, migration): only its `triggers`
 * replace it and run `create`; any other change (a new SSH key, a rotated password, a new ops image)
 * updates it with KEEP_REPORT_COMMAND, which prints its last report again and runs nothing.
 */
export const ONCE_PER_RELEASE = { update: KEEP_REPORT_COMMAND, addPreviousOutputInEnv: true } as const;

/** A step's command resource: on the machine running `pulumi up`, or on a host over SSH. */
export type StepResource = command.local.Command | command.remote.Command;

/** How a remote step reaches its host (the docker provider of the same host uses the runner's SSH). */
export interface HostConnection {
  /** The host's name (web-1), for resource names and messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** The SSH private key, a secret. */
  privateKey: pulumi.Input<string>;
  /** The host's pinned SSH key, "<type> <base64>". */
  hostKey: string;
}

/**
 * Where a step runs: here (the ops CLI of this checkout) or on a host, in a throwaway container of the
 * ops image built there at the program's version (`docker run --rm --network host … <image> <step> …`).
 */
export type StepPlace =
  { kind: "local" } | { kind: "host"; host: HostConnection; image: pulumi.Input<string> };

export const LOCAL: StepPlace = { kind: "local" };

/**
 * A step's command line where it runs: `node bin/greenlight-ops.js <step> …` here, or `docker run` of the
 * ops image on a host, passing the step's environment on by name (`-e NAME`, never a value).
 */
export function placedCommand(
  place: StepPlace,
  step: string,
  flags: pulumi.Input<Record<string, FlagValue>>,
  options: { envNames?: string[]; dockerSocket?: boolean } = {},
): pulumi.Output<string> {
  if (place.kind === "local")
    return pulumi.output(flags).apply((given) => opsCommand(step, given as Record<string, FlagValue>));
  return pulumi.all([place.image, flags]).apply(([image, given]) =>
    opsRunCommand(image, step, given as Record<string, FlagValue>, {
      envNames: options.envNames,
      dockerSocket: options.dockerSocket,
    }),
  );
}

/** `node bin/greenlight-ops.js <step> --a 'x' --b 2 …`, flags in the given order. */
export function opsCommand(step: string, flags: Record<string, FlagValue>): string {
  checkStepAndEnv(step, []);
  return [OPS_CLI, step, ...flagWords(flags).map(shellQuote)].join(" ");
}

/** Where a step connects to PostgreSQL (libpq variables). */
export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** libpq sslmode; unset, the steps use verify-full (they never fall back to plaintext on their own). */
  sslmode?: string;
  /** The CA that signed the server's certificate, as PEM text (GREENLIGHT_DB_CA; the step makes it a file). */
  sslRootCert?: string;
}

/** S3 settings of the backup bucket. */
export interface S3Target {
  /** S3-compatible endpoint (path-style); unset for AWS. */
  endpoint?: string;
  region: string;
  /** Unset: the AWS default credential chain of the machine running `pulumi up`. */
  accessKeyId?: string;
  secretAccessKey?: pulumi.Input<string>;
}

/** What a step's environment says about it, for the policy pack (plain values). */
export interface StepMarkers {
  step: string;
  release: string;
  verify: boolean;
}

/**
 * The environment of a data step: plain GREENLIGHT_STEP/RELEASE/VERIFY, libpq and AWS variables;
 * every credential (and the access key id, whose name the secrets policy treats as secret) is a secret.
 */
export function stepEnvironment(
  markers: StepMarkers,
  pg: PgTarget,
  pgPassword: pulumi.Input<string> | undefined,
  s3: S3Target,
  extra: Record<string, pulumi.Input<string>> = {},
): Record<string, pulumi.Input<string>> {
  const environment: Record<string, pulumi.Input<string>> = {
    [STEP_ENV.step]: markers.step,
    [STEP_ENV.release]: markers.release,
    [STEP_ENV.verify]: String(markers.verify),
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGDATABASE: pg.database,
    PGUSER: pg.user,
    AWS_REGION: s3.region,
  };
  if (pg.sslmode) environment.PGSSLMODE = pg.sslmode;
  if (pg.sslRootCert) environment[DATABASE_CA_ENV] = pg.sslRootCert;
  if (pgPassword !== undefined) environment.PGPASSWORD = pulumi.secret(pgPassword);
  if (s3.endpoint) environment.GREENLIGHT_S3_ENDPOINT = s3.endpoint;
  if (s3.accessKeyId) environment.AWS_ACCESS_KEY_ID = pulumi.secret(s3.accessKeyId);
  if (s3.secretAccessKey !== undefined) environment.AWS_SECRET_ACCESS_KEY = pulumi.secret(s3.secretAccessKey);
  return { ...environment, ...extra };
}

/** The lines of a step's stdout that look like JSON objects (empty stdout under preview and mocks). */
function jsonLines(stdout: string | undefined): string[] {
  return (stdout ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("{"));
}

/** Parses the JSON lines a step printed on stdout, skipping anything else. */
export function stepOutputs(stdout: string | undefined): Record<string, unknown>[] {
  return jsonLines(stdout).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The last JSON object a step printed on stdout, or undefined (empty stdout under preview and mocks). */
export function lastJsonLine(stdout: string | undefined): Record<string, unknown> | undefined {
  for (const line of jsonLines(stdout).reverse()) {
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === "object" && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // Not a JSON line: a step prints one JSON object; progress goes to stderr.
    }
  }
  return undefined;
}

/** A string field of a step's JSON, or undefined. */
export function text(value: Record<string, unknown> | undefined, field: string): string | undefined {
  return typeof value?.[field] === "string" ? (value[field] as string) : undefined;
}

/** A number field of a step's JSON, or undefined. */
export function num(value: Record<string, unknown> | undefined, field: string): number | undefined {
  return typeof value?.[field] === "number" ? (value[field] as number) : undefined;
}
