// The preview front at run time: the color a release brought up but did not promote is readied in the
// preview backend of every host's proxy (its servers checked UP in the app backend first), every other
// server there is put in maintenance. User traffic (the app backend) does not move.
import { Color } from "../../schema/types";
import { StepError } from "../lib/step";
import { PREVIEW_BACKEND } from "./config";
import { FleetOptions, ProxyTarget, hostNames, onEvery } from "./fleet";
import { checkTimeoutMs, prepareColor, serversOf } from "./flip";
import { admission, setServerState, showServersState } from "./runtime";

/** Makes `color` the only color of every host's preview front; throws naming the hosts that failed. */
export async function previewFleet(
  targets: ProxyTarget[],
  color: Color,
  options: FleetOptions,
): Promise<{ runtimeMs: number }> {
  const started = Date.now();
  const done = await onEvery(targets, async (target) => {
    const timeout = options.answerTimeoutMs ?? 2000;
    const preview = await showServersState(target.admin, timeout, PREVIEW_BACKEND).catch(() => {
      throw new Error(`the proxy has no preview front: give it a preview port (greenlight:previewPort)`);
    });
    const app = await showServersState(target.admin, timeout);
    await prepareColor(target.admin, color, app, checkTimeoutMs(options.checkIntervalMs));
    for (const state of serversOf(preview, color))
      if (admission(state) !== "ready")
        await setServerState(target.admin, state.name, "ready", PREVIEW_BACKEND);
    for (const state of preview.filter((server) => !server.name.startsWith(`${color}-`)))
      if (admission(state) !== "maint")
        await setServerState(target.admin, state.name, "maint", PREVIEW_BACKEND);
  });
  if (done.failures.length > 0) {
    throw new StepError(
      `cannot preview ${color} on ${hostNames(done.failures)} (user traffic did not move on any host): ${done.failures.join("; ")}`,
    );
  }
  return { runtimeMs: Date.now() - started };
}
