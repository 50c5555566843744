// The proxy's public surface: what the switch, the guard and the control plane may use. Everything else
// in this folder (config rendering, the runtime API's parsing, process handling) is the proxy's own.
export { activate } from "./activate";
export type { Activation } from "./activate";
export { LOG_RING, proxyPaths } from "./config";
export { moveFleet, revertFleet } from "./fleet";
export type { HostMove } from "./fleet";
export { proxyUrl } from "./spec";
export type { ProxySpec } from "./spec";
export { abortFleet, readFleet, weighFleet } from "./weights";
export type { WeightMove } from "./weights";
export { servingColor } from "./flip";
export { proxyAnswers } from "./runtime";
export { previewFleet } from "./preview";
