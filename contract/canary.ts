// What the switch's canary steps and the plan's header agree on about how long a step may take.

/** A canary step short of requests waits until this many times its window for the minimum sample. */
export const CANARY_WAIT_FACTOR = 3;
