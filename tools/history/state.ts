// What one recorded update says about the release: which color was active, what each color ran, whether
// the schema change was breaking, where backups live, and any emergency override. Pure.
import { CONFIG_KEYS, NAMESPACE } from "../../schema/keys";
import { Color, COLORS } from "../../schema/types";
import { StackUpdate } from "./read";

/** A config value from the history; a secret carries no value unless the history was shown with secrets. */
export interface RecordedValue {
  key: string;
  set: boolean;
  secret: boolean;
  value?: string;
}

/** An emergency override recorded in an update's config. */
export interface RecordedOverride {
  version: number;
  reason: string;
  approver: string;
  ticket: string;
  expiresAt: string;
}

/** The release-relevant part of one update's config. */
export interface ReleaseState {
  update: StackUpdate;
  activeColor?: Color;
  /** The color that received the newest release (recorded since greenlight:latestColor exists). */
  latestColor: RecordedValue;
  colors: Record<Color, { release: RecordedValue; image: RecordedValue }>;
  schemaBreaking: boolean;
  backupPrefix: string;
  backupBucket: RecordedValue;
  backupRetentionDays: number;
  /** Where the bucket is: greenlight:s3Region (its default when unset) and s3Endpoint (unset for AWS). */
  s3Region: string;
  s3Endpoint?: string;
  dbName: RecordedValue;
  maintenanceMode: string;
  override?: RecordedOverride;
}

/** The key as the history names it: `greenlight:<key>`. */
export function qualified(key: string): string {
  return `${NAMESPACE}:${key}`;
}

/** One config value of an update. */
export function recorded(update: StackUpdate, key: string): RecordedValue {
  const fullKey = key.includes(":") ? key : qualified(key);
  const entry = update.config[fullKey];
  if (entry === undefined) return { key: fullKey, set: false, secret: false };
  return { key: fullKey, set: true, secret: entry.secret, value: entry.value };
}

/** The value when it is set and plain; secrets never come out of here. */
export function plainValue(value: RecordedValue): string | undefined {
  return value.set && !value.secret ? value.value : undefined;
}

/** How a value may be printed: secrets as [secret], whatever the history holds. */
export function shown(value: RecordedValue): string {
  if (!value.set) return "(not set)";
  if (value.secret) return "[secret]";
  return value.value ?? "(no value)";
}

function defaultOf(key: keyof typeof CONFIG_KEYS): unknown {
  const parsed = CONFIG_KEYS[key].schema.safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

function integer(update: StackUpdate, key: "backupRetentionDays"): number {
  const text = plainValue(recorded(update, key));
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : (defaultOf(key) as number);
}

/** Reads the release-relevant config of one update. */
export function releaseState(update: StackUpdate): ReleaseState {
  const active = plainValue(recorded(update, "activeColor"));
  const colors = Object.fromEntries(
    COLORS.map((color) => [
      color,
      { release: recorded(update, `${color}Release`), image: recorded(update, `${color}Image`) },
    ]),
  ) as ReleaseState["colors"];
  const reason = plainValue(recorded(update, "overrideReason"));
  const approver = plainValue(recorded(update, "overrideApprover"));
  const ticket = plainValue(recorded(update, "overrideTicket"));
  const expiresAt = plainValue(recorded(update, "overrideExpiresAt"));
  return {
    update,
    activeColor: active === "blue" || active === "green" ? active : undefined,
    latestColor: recorded(update, "latestColor"),
    colors,
    schemaBreaking: plainValue(recorded(update, "schemaBreaking")) === "true",
    backupPrefix: plainValue(recorded(update, "backupPrefix")) ?? (defaultOf("backupPrefix") as string),
    backupBucket: recorded(update, "backupBucket"),
    backupRetentionDays: integer(update, "backupRetentionDays"),
    s3Region: plainValue(recorded(update, "s3Region")) ?? (defaultOf("s3Region") as string),
    s3Endpoint: plainValue(recorded(update, "s3Endpoint")),
    dbName: recorded(update, "dbName"),
    maintenanceMode:
      plainValue(recorded(update, "maintenanceMode")) ?? (defaultOf("maintenanceMode") as string),
    override:
      reason !== undefined
        ? {
            version: update.version,
            reason,
            approver: approver ?? "(not recorded)",
            ticket: ticket ?? "(not recorded)",
            expiresAt: expiresAt ?? "(not recorded)",
          }
        : undefined,
  };
}

/** The release the active color ran in this update, if it can be told without a secret. */
export function activeRelease(state: ReleaseState): string | undefined {
  return state.activeColor === undefined ? undefined : plainValue(state.colors[state.activeColor].release);
}
