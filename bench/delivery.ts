// Image delivery to air-gapped hosts (scripts/isolated-hosts.sh), side by side with what a person would
// type: `docker save <image> | ssh <host> docker load`, one pipeline per host. The step (greenlight-ops
// deliver, its whole command line: node start, the probe of every host, one export compressed once,
// every host's id checked and tag set) against it, for one host and for three at once. Every run
// starts from hosts that hold nothing of the image; runs alternate, medians are reported.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildSampleImage } from "../tests/fixtures/app/build";
import { spawnOps } from "../tests/ops/support/cli";
import { ensureDocker } from "../tests/support/docker";
import { SimHost, SimHosts } from "../tests/support/hosts";
import { dockerAt, hostSocket, startIsolatedHosts } from "../tests/support/isolated-hosts";
import { BenchResult } from "./result";

const ROUNDS = 3;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms: number) => Math.round(ms / 10) / 100;

function forget(sim: SimHosts, hosts: SimHost[], image: { ref: string; id: string }): void {
  for (const host of hosts) {
    for (const name of [image.ref, image.id]) {
      try {
        dockerAt(sim, host, ["rmi", "-f", name]);
      } catch {
        // Not there.
      }
    }
  }
}

/** `docker save | ssh host docker load` to every host at once, as typed by hand; milliseconds. */
function byHand(sim: SimHosts, hosts: SimHost[], ref: string): Promise<number> {
  const started = Date.now();
  return Promise.all(
    hosts.map(
      (host) =>
        new Promise<void>((resolve, reject) =>
          execFile(
            "sh",
            ["-c", 'docker save "$1" | ssh "root@$2" docker load', "sh", ref, host.address],
            { env: sim.env, timeout: 600_000 },
            (error, _stdout, stderr) =>
              error ? reject(new Error(`by hand to ${host.name}: ${stderr || error.message}`)) : resolve(),
          ),
        ),
    ),
  ).then(() => Date.now() - started);
}

/**
 * `docker load` of a saved file straight into each host's engine at once (no SSH, no compression): the
 * part of any delivery that each host's own CPU does, which here all hosts share with the runner.
 */
function loadsOnly(sim: SimHosts, hosts: SimHost[], file: string): Promise<number> {
  const started = Date.now();
  return Promise.all(
    hosts.map(
      (host) =>
        new Promise<void>((resolve, reject) =>
          execFile(
            "sh",
            ["-c", 'docker load -q < "$1"', "sh", file],
            { env: { ...process.env, DOCKER_HOST: hostSocket(sim, host) }, timeout: 600_000 },
            (error, _stdout, stderr) =>
              error
                ? reject(new Error(`docker load on ${host.name}: ${stderr || error.message}`))
                : resolve(),
          ),
        ),
    ),
  ).then(() => Date.now() - started);
}

async function step(sim: SimHosts, hosts: SimHost[], ref: string): Promise<{ ms: number; bytes: number }> {
  const run = await spawnOps(
    [
      "deliver",
      "--image",
      ref,
      "--progress-seconds",
      "0",
      ...hosts.flatMap((host) => ["--host", `${host.name}=root@${host.address}`]),
    ],
    sim.env,
    600_000,
  ).done;
  if (run.code !== 0)
    throw new Error(`deliver to ${hosts.map((host) => host.name).join(", ")}: ${run.stderr.trim()}`);
  const report = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as { sentBytes: number };
  return { ms: run.ms, bytes: report.sentBytes / hosts.length };
}

/**
 * A release built on the last one (its layers and one small layer more) to three hosts that hold the
 * last one: what each host receives is the new layer only.
 */
async function nextRelease(
  sim: SimHosts,
  last: { ref: string },
  work: string,
): Promise<{ ms: number; bytes: number }> {
  const context = path.join(work, "next");
  fs.mkdirSync(context);
  fs.writeFileSync(path.join(context, "Dockerfile"), `FROM ${last.ref}\nCOPY release.txt /app/release.txt\n`);
  fs.writeFileSync(path.join(context, "release.txt"), `the next release, ${Date.now()}\n`);
  const ref = `greenlight-bench-delivery:next-${process.pid}`;
  await new Promise<void>((resolve, reject) =>
    execFile(
      "docker",
      ["build", "-q", "-t", ref, context],
      { env: { ...process.env, DOCKER_BUILDKIT: "0" } },
      (error) => (error ? reject(error) : resolve()),
    ),
  );
  try {
    const held = await step(sim, sim.hosts, last.ref);
    if (held.bytes === 0) throw new Error("the hosts should not have held the last release yet");
    return await step(sim, sim.hosts, ref);
  } finally {
    await new Promise((resolve) => execFile("docker", ["rmi", ref], () => resolve(undefined)));
  }
}

export async function benchDelivery(): Promise<BenchResult[]> {
  await ensureDocker();
  const image = buildSampleImage("v1");
  const sim = await startIsolatedHosts(3);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "gl-bench-delivery-"));
  try {
    const one = [sim.hosts[0]];
    const saved = path.join(work, "image.tar");
    await new Promise<void>((resolve, reject) =>
      execFile("sh", ["-c", 'docker save "$1" > "$2"', "sh", image.id, saved], (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const measured = {
      hand1: [] as number[],
      step1: [] as number[],
      hand3: [] as number[],
      step3: [] as number[],
      load1: [] as number[],
      load3: [] as number[],
    };
    let bytes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      forget(sim, sim.hosts, image);
      measured.hand1.push(await byHand(sim, one, image.ref));
      forget(sim, sim.hosts, image);
      const single = await step(sim, one, image.ref);
      measured.step1.push(single.ms);
      bytes = single.bytes;
      forget(sim, sim.hosts, image);
      measured.hand3.push(await byHand(sim, sim.hosts, image.ref));
      forget(sim, sim.hosts, image);
      measured.step3.push((await step(sim, sim.hosts, image.ref)).ms);
      forget(sim, sim.hosts, image);
      measured.load1.push(await loadsOnly(sim, one, saved));
      forget(sim, sim.hosts, image);
      measured.load3.push(await loadsOnly(sim, sim.hosts, saved));
    }
    forget(sim, sim.hosts, image);
    const next = await nextRelease(sim, image, work);
    const size = Number(
      (
        await new Promise<string>((resolve, reject) =>
          execFile("docker", ["image", "inspect", "--format", "{{.Size}}", image.ref], (error, stdout) =>
            error ? reject(error) : resolve(stdout),
          ),
        )
      ).trim(),
    );
    const [hand1, step1, hand3, step3, load1, load3] = [
      measured.hand1,
      measured.step1,
      measured.hand3,
      measured.step3,
      measured.load1,
      measured.load3,
    ].map(median);
    return [
      { name: `delivery: image size (${image.ref})`, value: Math.round(size / 1e5) / 10, unit: "MB" },
      { name: "delivery: sent per host (zstd)", value: Math.round(bytes / 1e5) / 10, unit: "MB" },
      { name: "delivery: by hand, 1 host (docker save | ssh docker load)", value: seconds(hand1), unit: "s" },
      { name: "delivery: greenlight-ops deliver, 1 host", value: seconds(step1), unit: "s" },
      {
        name: "delivery: deliver / by hand, 1 host",
        value: step1 / hand1,
        unit: "×",
        goal: "≤ 1.2",
        ok: step1 / hand1 <= 1.2,
      },
      { name: "delivery: by hand, 3 hosts at once (3 pipelines)", value: seconds(hand3), unit: "s" },
      { name: "delivery: greenlight-ops deliver, 3 hosts", value: seconds(step3), unit: "s" },
      {
        name: "delivery: deliver 3 hosts / deliver 1 host",
        value: step3 / step1,
        unit: "×",
        goal: "≤ 1.5",
        ok: step3 / step1 <= 1.5,
      },
      { name: "delivery: deliver 3 hosts / by hand 3 hosts", value: step3 / hand3, unit: "×" },
      { name: "delivery: docker load alone from a file, 1 host", value: seconds(load1), unit: "s" },
      {
        name: "delivery: docker load alone, 3 hosts at once (same 2 cores)",
        value: seconds(load3),
        unit: "s",
      },
      { name: "delivery: floor of this machine: 3 loads / 1 load", value: load3 / load1, unit: "×" },
      {
        name: "delivery: next release (+1 layer), 3 hosts with the last",
        value: seconds(next.ms),
        unit: "s",
      },
      {
        name: "delivery: sent per host for the next release",
        value: Math.round(next.bytes / 100) / 10,
        unit: "kB",
      },
    ];
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    sim.stop();
  }
}
