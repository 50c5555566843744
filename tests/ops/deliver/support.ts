// What the delivery tests share: a set of isolated hosts of their own (numbers from `first`, so test
// files running at once never share one), the sample images, the step as the command resource runs it,
// and readings of its report.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DeliveryReport } from "../../../ops/deliver";
import { buildSampleImage } from "../../fixtures/app/build";
import { ensureDocker } from "../../support/docker";
import { SimHost, SimHosts } from "../../support/hosts";
import { dockerAt, removeAt, startIsolatedHosts } from "../../support/isolated-hosts";
import { needService } from "../../support/service";
import { CliExit, CliProcess, spawnOps } from "../support/cli";

export const hostArg = (host: SimHost) => `${host.name}=root@${host.address}:22`;

/** The step's report (its last stdout line). */
export function report(run: CliExit): DeliveryReport {
  const line = run.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as DeliveryReport;
}

/** Each host's statuses, image by image. */
export function statuses(run: CliExit): Record<string, string[]> {
  return Object.fromEntries(
    report(run).hosts.map((host) => [host.host, host.deliveries.map((delivery) => delivery.status)]),
  );
}

export interface DeliveryHosts {
  sim: SimHosts;
  images: Record<string, { ref: string; id: string }>;
  /** A folder of this file's own, removed after it. */
  scratch: string;
  /** `greenlight-ops deliver … ` with progress every second, as the command resource runs it. */
  deliver(args: string[], env?: NodeJS.ProcessEnv): CliProcess;
}

/**
 * Three isolated hosts numbered from `first` and the sample images v1 and v2, for the suite this is
 * called in; before each test no host holds a sample image.
 */
export function deliveryHosts(first: number): DeliveryHosts {
  const state = { images: {} } as DeliveryHosts;
  state.deliver = (args, env = state.sim.env) =>
    spawnOps(["deliver", "--progress-seconds", "1", ...args], env, 280_000);

  before(async function () {
    this.timeout(600_000);
    await needService(this, "Docker", ensureDocker);
    state.sim = await needService(this, "isolated hosts (network namespaces, sshd, dockerd)", () =>
      startIsolatedHosts(3, first),
    );
    for (const name of ["v1", "v2"]) state.images[name] = buildSampleImage(name);
    state.scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gl-deliver-"));
  });

  after(() => {
    if (state.scratch) fs.rmSync(state.scratch, { recursive: true, force: true });
    state.sim?.stop();
  });

  // Every host back to holding none of the sample images.
  beforeEach(() => {
    for (const host of state.sim.hosts) {
      for (const image of Object.values(state.images)) removeAt(state.sim, host, image.id);
      for (const tag of dockerAt(state.sim, host, [
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
      ]).split("\n"))
        if (tag.startsWith("greenlight-sample:")) removeAt(state.sim, host, tag);
    }
  });
  return state;
}
