// The edit a release makes to Pulumi.<stack>.yaml: the idle color gets the release and image, activeColor
// flips to it, latestColor names it (its release is the one backed up and migrated), schemaBreaking records the flag, and an emergency override is written (or the previous
// release's is removed). Refused (ReleaseRefusal, exit 1) when the release is already deployed; bad input
// (BadInput, exit 2) when the override flags are wrong or the stack's config would no longer parse. Pure.
import { ConfigError, parseStackConfig } from "../../schema/parse";
import { Color, otherColor, Override, StackSettings } from "../../schema/types";
import { applyOverrides, StackConfig } from "../harness/stack-file";
import { BadInput, configProblemLines } from "../lib/io";
import { OVERRIDE_KEYS } from "../../contract/override";
import { OverrideFlags, overrideFromFlags } from "../lib/override";
import { ReleaseRefusal } from "./inputs";
import { ConfigChanges } from "../lib/stack-yaml";

/** The release to write, as given on the command line. */
export interface ReleaseRequest extends OverrideFlags {
  stack: string;
  release: string;
  image: string;
  schemaBreaking: boolean;
  /** Bring the release up on the preview front only (greenlight:promote false); `npm run promote` moves the users. */
  preview?: boolean;
}

/** What the release changes, and the stack's settings once it is written. */
export interface ReleaseChange {
  /** The color serving now; it keeps its release warm for a rollback. */
  activeColor: Color;
  activeRelease: string | undefined;
  /** The color that gets the release and becomes active. */
  idleColor: Color;
  override?: Override;
  changes: ConfigChanges;
  settings: StackSettings;
}

/** Computes the release's config changes from the stack file's config; throws ReleaseRefusal or BadInput. */
export function releaseChange(
  base: StackConfig,
  request: ReleaseRequest,
  stackFile: string,
  now: Date,
): ReleaseChange {
  const activeValue = base.config["greenlight:activeColor"];
  if (activeValue !== "blue" && activeValue !== "green") {
    throw new BadInput(
      `${stackFile}: greenlight:activeColor is ${JSON.stringify(activeValue ?? "(not set)")}; set it to the color serving traffic (blue or green) first`,
    );
  }
  const activeColor: Color = activeValue;
  const idleColor = otherColor(activeColor);
  const activeRelease = base.config[`greenlight:${activeColor}Release`];
  const idleRelease = base.config[`greenlight:${idleColor}Release`];
  if (request.release === activeRelease) {
    throw new ReleaseRefusal(
      `release ${request.release} is already live on ${activeColor} in ${request.stack}; a new release needs a new id`,
    );
  }
  if (request.release === idleRelease) {
    throw new ReleaseRefusal(
      `release ${request.release} is already on the idle color ${idleColor}; to make it live, flip instead: ` +
        `pulumi config set greenlight:activeColor ${idleColor} --stack ${request.stack} (or npm run rollback)`,
    );
  }

  const override = overrideFromFlags(request, now);
  if (override !== undefined && "problems" in override) throw new BadInput(override.problems);

  const changes: ConfigChanges = {
    set: {
      [`greenlight:${idleColor}Release`]: request.release,
      [`greenlight:${idleColor}Image`]: request.image,
      "greenlight:activeColor": idleColor,
      "greenlight:latestColor": idleColor,
      "greenlight:schemaBreaking": String(request.schemaBreaking),
      // A preview stops before the switch; any other release takes the traffic (a past preview in the stack file ends here).
      ...(request.preview || base.stackValues["greenlight:promote"] !== undefined
        ? { "greenlight:promote": String(!request.preview) }
        : {}),
    },
    remove: [],
  };
  const overrideKeys = Object.values(OVERRIDE_KEYS).map((key) => `greenlight:${key}`);
  if (override !== undefined) {
    for (const [field, key] of Object.entries(OVERRIDE_KEYS) as [keyof typeof OVERRIDE_KEYS, string][]) {
      changes.set[`greenlight:${key}`] = override[field];
    }
  } else {
    // An override is for one emergency: the next release does not inherit it.
    changes.remove = overrideKeys.filter((key) => base.config[key] !== undefined);
  }

  const next = applyOverrides(base, {
    ...changes.set,
    ...Object.fromEntries(changes.remove.map((key) => [key, null])),
  });
  let settings: StackSettings;
  try {
    settings = parseStackConfig({
      stack: request.stack,
      values: next.config,
      secretKeys: new Set(next.secretKeys),
      now,
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new BadInput(
        configProblemLines(error.problems).map(
          (line) => `${stackFile} would not be valid after this release: ${line}`,
        ),
      );
    }
    throw error;
  }
  return { activeColor, activeRelease, idleColor, override, changes, settings };
}
