// A release that stops before taking traffic (greenlight:promote false; Argo Rollouts' preview service):
// the new color, gated and smoke-tested, is what every proxy's preview front answers, while users stay on
// the color that serves. A later update with the promotion moves the traffic (the switch, or its steps).
import { Color } from "../../schema/types";
import { StepError } from "../lib/step";

/** What a preview needs of the switch's mover (ops/switch TrafficMover has both). */
interface PreviewMover {
  preview?(color: Color): Promise<{ runtimeMs: number }>;
  serving?(): Promise<Color | undefined>;
}

export interface PreviewReport {
  step: "switch";
  /** The color users stay on (undefined: none serves yet). */
  activeColor?: Color;
  previewColor: Color;
  release: string;
  image?: string;
  /** Where the preview front answers on each host. */
  previewUrls: string[];
  runtimeMs: number;
}

/** Readies `color` on every proxy's preview front; moves no user traffic. */
export async function previewRelease(
  mover: PreviewMover,
  settings: { color: Color; release: string; image?: string; log?: (message: string) => void },
  previewUrls: string[],
): Promise<PreviewReport> {
  if (!mover.preview)
    throw new StepError("this switch has no preview front: give the proxy a preview port", 2);
  const serving = mover.serving ? await mover.serving() : undefined;
  if (serving === settings.color) {
    throw new StepError(
      `${settings.color} already serves users: there is nothing to preview; set greenlight:promote true or release to the idle color`,
      2,
    );
  }
  const { runtimeMs } = await mover.preview(settings.color);
  settings.log?.(
    `previewing ${settings.color} (release ${settings.release}) on ${previewUrls.join(" ")}; users stay on ${serving ?? "no color yet"}`,
  );
  return {
    step: "switch",
    ...(serving ? { activeColor: serving } : {}),
    previewColor: settings.color,
    release: settings.release,
    ...(settings.image ? { image: settings.image } : {}),
    previewUrls,
    runtimeMs,
  };
}
