// What a traffic switch takes (its settings, however it reaches its proxies), what moves its traffic
// (a TrafficMover: the proxies on this machine, or on every host over the control plane) and what it
// reports.
import { Color } from "../../schema/types";
import { ChannelOpened, ControlPlane } from "../control";
import { GuardReport } from "../guard";
import { GuardThresholds } from "../guard/requests";
import { NotifyResult } from "../notify";
import { Activation, HostMove, ProxySpec } from "../proxy";
import { CanarySettings, CanaryStep, Weigher } from "./canary";

/** What every switch takes, however it reaches its proxies. */
export interface SwitchSettings {
  /** The color that serves afterwards. */
  color: Color;
  release: string;
  /** Image the color runs (reported, and shown in notifications). */
  image?: string;
  /** Paths requested through the proxy right after the switch. */
  warmupPaths: string[];
  /** Seconds the guard watches; 0 skips it. */
  guardSeconds: number;
  thresholds: GuardThresholds;
  /** Canary steps before the last move (none, or only 100: the single move). */
  canary?: CanarySettings;
  /** Bring the color to every proxy's preview front only; move no user traffic (greenlight:promote false). */
  previewOnly?: boolean;
  /** Where notifications go (GREENLIGHT_WEBHOOK_URL). */
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

export interface SwitchOptions extends SwitchSettings {
  spec: ProxySpec;
  binary?: string;
}

export interface WarmupResult {
  path: string;
  /** The proxy the request went through. */
  proxyUrl: string;
  status?: number;
  ms: number;
  error?: string;
}

/** What moving traffic did, on one proxy or on every host's. */
export interface Moved {
  /** start/flip/reload/unchanged for the local proxy; flip/unchanged for the hosts' proxies. */
  method: Activation["method"];
  previousColor?: Color;
  runtimeMs?: number;
  /** Milliseconds the checks before the move took (every host answers, the color is UP everywhere). */
  preflightMs?: number;
  /** Milliseconds from the first host taking the new color to the last (several hosts). */
  mixedMs?: number;
  /** Milliseconds opening every host's control channel took (SSH, host key, relay), before anything moved. */
  openMs?: number;
  /** Milliseconds from the coordinator's process start until it began opening the channels. */
  bootMs?: number;
  /** How each host's control channel opened (socket or relay) and what each part took. */
  channels?: ChannelOpened[];
  /** Per host, when the switch moved several hosts. */
  hosts?: HostMove[];
}

/** How a switch reaches its proxies: where clients reach them, their control plane, how traffic moves. */
export interface TrafficMover {
  proxyUrls: string[];
  /** Every proxy's control plane: the guard reads their access logs and the warm-up goes through it. */
  plane: ControlPlane;
  /** The move may start the proxy (this machine's): the guard then subscribes once it runs. */
  mayStart?: boolean;
  move(color: Color): Promise<Moved>;
  /**
   * Moves back after a breach, on every proxy it can; returns the failures, each naming its host.
   * Default: move, all or nothing.
   */
  revert?(color: Color): Promise<string[]>;
  /** Moves weights step by step on every proxy (a canary); without it, steps are refused. */
  weigher?: Weigher;
  /** The color every proxy serves alone now (undefined: none, both, or the proxies disagree). */
  serving?(): Promise<Color | undefined>;
  /** Makes `color` the only color of every proxy's preview front. */
  preview?(color: Color): Promise<{ runtimeMs: number }>;
}

/** What the switch printed: what moving traffic did (Moved), and the rest of the switch around it. */
export interface SwitchReport extends Moved {
  step: "switch";
  activeColor: Color;
  release: string;
  image?: string;
  proxyUrl: string;
  /** Every host's proxy, when the switch moved several hosts. */
  proxyUrls?: string[];
  /** The canary's steps below 100 %, each with both colors' figures over its window. */
  canary?: { stepSeconds: number; steps: CanaryStep[] };
  /** Milliseconds the whole switch took, guard included. */
  totalMs: number;
  /** The switch process's peak resident memory, in MB: the guard's count stays the same size under a flood. */
  peakRssMb?: number;
  warmup: WarmupResult[];
  guard?: GuardReport | { skipped: string };
  notified?: NotifyResult;
}
