// greenlight: one release of a Dockerised web app on PostgreSQL, in the runbook's order.
// Reads top-down: config → data safety → color slots → gate → switch → exports. Wiring only.
import { loadConfig } from "./config";

// 1. Configuration: one validated object; a bad stack file stops here, before any resource.
const config = loadConfig();
const active = config.colors[config.activeColor];

// 2. Data safety: hardened bucket, least-privilege roles, verified backup, run-once migration.

// 3. Color slots: the release goes to its color; the other color stays warm for a flip back.

// 4. Health gate and smoke tests on the target color, then the traffic switch and its guard.

// 5. Exports: what `pulumi stack history` should show for this release.
export const stack = config.stack;
export const activeColor = config.activeColor;
export const activeRelease = active.release;
export const activeImage = active.image;
export const schemaBreaking = config.migration.schemaBreaking;
