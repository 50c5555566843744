// The rule that keeps a release from skipping its data steps. Backup, drill and migration follow
// greenlight:latestColor's release, so a color that is given a new release or image while latestColor
// names the other color would go live with no backup and without its migration. The release record
// step refuses such an update when it runs (ops/record), and `npm run plan --diff-from` refuses it
// offline; `npm run release` writes the release and latestColor together.

/** The two colors (schema/types.ts COLORS; kept here so contract/ imports nothing above it). */
const COLORS = ["blue", "green"] as const;
type Color = (typeof COLORS)[number];

/** What the release record carries of both colors: what each runs, and which one is the newest release. */
export interface ReleaseSnapshot {
  latestColor: Color;
  colors: Record<Color, { release: string; image: string }>;
}

/** Environment names of the record step that carry the snapshot (plain values, never secrets). */
export const SNAPSHOT_ENV = {
  latestColor: "GREENLIGHT_LATEST_COLOR",
  release: (color: Color) => `GREENLIGHT_${color.toUpperCase()}_RELEASE`,
  image: (color: Color) => `GREENLIGHT_${color.toUpperCase()}_IMAGE`,
} as const;

/** The snapshot as environment entries of the record step. */
export function snapshotEnvironment(snapshot: ReleaseSnapshot): Record<string, string> {
  const environment: Record<string, string> = { [SNAPSHOT_ENV.latestColor]: snapshot.latestColor };
  for (const color of COLORS) {
    environment[SNAPSHOT_ENV.release(color)] = snapshot.colors[color].release;
    environment[SNAPSHOT_ENV.image(color)] = snapshot.colors[color].image;
  }
  return environment;
}

/** Reads a snapshot from an environment (the record step's, or a recorded one); undefined when incomplete. */
export function snapshotFrom(environment: Record<string, unknown>): ReleaseSnapshot | undefined {
  const latest = environment[SNAPSHOT_ENV.latestColor];
  if (!COLORS.includes(latest as Color)) return undefined;
  const colors = {} as ReleaseSnapshot["colors"];
  for (const color of COLORS) {
    const release = environment[SNAPSHOT_ENV.release(color)];
    const image = environment[SNAPSHOT_ENV.image(color)];
    if (typeof release !== "string" || typeof image !== "string") return undefined;
    colors[color] = { release, image };
  }
  return { latestColor: latest as Color, colors };
}

/**
 * Why going from `previous` to `current` would take a release live without its data steps: a color
 * whose release or image changed is not greenlight:latestColor. Undefined when the update is sound
 * (a new release on the latest color, a flip back, nothing changed).
 */
export function skippedDataSteps(
  previous: ReleaseSnapshot,
  current: ReleaseSnapshot,
  stack = "<stack>",
): string | undefined {
  for (const color of COLORS) {
    const before = previous.colors[color];
    const after = current.colors[color];
    if (before.release === after.release && before.image === after.image) continue;
    if (color === current.latestColor) continue;
    const what =
      before.release === after.release
        ? `image ${after.image} (was ${before.image})`
        : `release ${after.release} (was ${before.release})`;
    return (
      `greenlight:latestColor is ${current.latestColor}, but ${color} now runs ${what}: backup, drill and migration ` +
      `follow greenlight:latestColor, so it would go out without its backup and migration; fix: write the release with ` +
      `npm run release -- --stack ${stack} --release ${after.release} --image ${after.image} (it sets greenlight:latestColor too), ` +
      `or set greenlight:latestColor to ${color}`
    );
  }
  return undefined;
}
