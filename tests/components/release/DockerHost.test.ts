// The program on Docker hosts (issue: remote hosts and more than one), under mocks: one ssh:// docker
// provider per declared host, every container and image of a host through it, the proxy and the ops
// image on each host, a gate per host, the switch on the first host, the data steps on greenlight:dataHost
// — and no gate, switch or guard as a local command in a stack with hosts.
import { strict as assert } from "assert";
import { COMPONENT, RESOURCE, STEP, STEP_ENV } from "../../../contract/resources";
import { RecordedResource, isSecretMarker } from "../../../tools/harness/types";
import { anyRun, named, ofType, program } from "../support";

const HOSTS = [
  { name: "web-1", address: "web-1.prod.internal", privateAddress: "10.0.0.11" },
  { name: "web-2", address: "web-2.prod.internal", privateAddress: "10.0.0.12" },
  { name: "web-3", address: "web-3.prod.internal", privateAddress: "10.0.0.13" },
];

const env = (resource: RecordedResource) => resource.inputs.environment as Record<string, unknown>;
/** A remote command's connection: the command SDK makes the whole object a secret (it holds the key). */
const connection = (resource: RecordedResource) => {
  const value = resource.inputs.connection;
  assert.ok(isSecretMarker(value), `${resource.name}: the connection is a secret`);
  return value.value as { host: string; port: number; user: string; privateKey: unknown };
};
const stepOf = (resource: RecordedResource) => env(resource)?.[STEP_ENV.step];

describe("the program on Docker hosts (production: three hosts over SSH)", function () {
  this.timeout(120_000);

  it("declares one docker provider per host, at its ssh:// address, and every container of a host uses it", async () => {
    const { resources } = await program("production");
    const providers = ofType(resources, RESOURCE.dockerProvider);
    assert.deepEqual(
      providers.map((provider) => [provider.name, provider.inputs.host]),
      HOSTS.map((host) => [`host-${host.name}-docker`, `ssh://deploy@${host.address}:22`]),
    );
    const containers = ofType(resources, RESOURCE.container);
    // Three replicas of each color, one per host, and a proxy per host.
    assert.equal(containers.length, 9);
    for (const host of HOSTS) {
      const provider = named(resources, `host-${host.name}-docker`).urn;
      const mine = containers.filter((container) => container.provider === provider);
      assert.deepEqual(mine.map((container) => container.name).sort(), [
        `host-${host.name}-proxy`,
        `service-blue-${host.name}-0`,
        `service-green-${host.name}-0`,
      ]);
      // The release image pulled by that host's own engine, by digest, before its replicas start.
      for (const color of ["blue", "green"]) {
        const pulled = named(resources, `service-${color}-${host.name}-image`);
        assert.equal(pulled.type, RESOURCE.remoteImage);
        assert.equal(pulled.provider, provider);
        assert.match(String(pulled.inputs.name), /@sha256:[a-f0-9]{64}$/);
        assert.ok(named(resources, `service-${color}-${host.name}-0`).dependencies.includes(pulled.urn));
      }
    }
    assert.ok(
      !resources.some((resource) => resource.name.endsWith("-image") && resource.type === RESOURCE.command),
    );
  });

  it("builds the ops image on each host and runs that host's proxy from it, listening for clients, its runtime API on its private address", async () => {
    const { resources } = await program("production");
    for (const [index, host] of HOSTS.entries()) {
      const image = named(resources, `host-${host.name}-ops-image`);
      assert.equal(image.type, RESOURCE.image);
      assert.match(String(image.inputs.imageName), /^greenlight-ops:[a-f0-9]{16}$/);
      assert.equal(image.inputs.skipPush, true);
      assert.deepEqual((image.inputs.build as { args: Record<string, string> }).args, {
        // Pinned by digest in production (greenlight:requireDigest covers the ops image's base).
        BASE: "node:22-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46",
      });
      const proxy = named(resources, `host-${host.name}-proxy`);
      const command = proxy.inputs.command as string[];
      const flag = (name: string) => command[command.indexOf(`--${name}`) + 1];
      assert.equal(command[0], "proxy");
      assert.deepEqual(
        [
          "listen-address",
          "proxy-port",
          "admin-address",
          "admin-port",
          "log-address",
          "log-port",
          "replicas",
        ].map(flag),
        ["0.0.0.0", "80", host.privateAddress, "9999", "10.0.0.11", "5140", "1"],
      );
      assert.equal(proxy.inputs.networkMode, "host");
      assert.match(String(proxy.inputs.image), /^sha256:[a-f0-9]{64}$/, "the image id the host built");
      assert.deepEqual(proxy.ignoreChanges, ["image"]);
      // One host's front at a time: each host waits for the one before it.
      if (index > 0) {
        const previous = named(resources, `host-${HOSTS[index - 1].name}-proxy`);
        assert.ok(
          proxy.dependencies.includes(previous.urn) ||
            named(resources, `host-${host.name}`).dependencies.includes(
              named(resources, `host-${HOSTS[index - 1].name}`).urn,
            ),
        );
      }
    }
  });

  it("runs a gate on every host, probing that host's replicas, and the switch from the first host over all of them", async () => {
    const { resources } = await program("production");
    const commands = resources.filter(
      (resource) => resource.type === RESOURCE.command || resource.type === RESOURCE.remoteCommand,
    );
    for (const command of commands) {
      if ([STEP.healthGate, STEP.switch].includes(stepOf(command) as never))
        assert.equal(command.type, RESOURCE.remoteCommand, `${command.name} runs on a host`);
    }
    const gates = commands.filter((command) => stepOf(command) === STEP.healthGate);
    assert.deepEqual(
      gates.map((gate) => connection(gate).host),
      HOSTS.map((host) => host.address),
    );
    for (const gate of gates) {
      assert.equal(connection(gate).privateKey, "[secret]", "the key's value is never recorded");
      assert.match(
        String(gate.inputs.create),
        /^docker run --rm --network host -e GREENLIGHT_WEBHOOK_URL greenlight-ops:[a-f0-9]{16} health-gate --color blue .* --host 127\.0\.0\.1 /,
      );
    }
    const switchRun = named(resources, "switch-run");
    assert.equal(connection(switchRun).host, "web-1.prod.internal");
    assert.match(
      String(switchRun.inputs.create),
      / switch-hosts --color blue .* --host web-1=10\.0\.0\.11 --host web-2=10\.0\.0\.12 --host web-3=10\.0\.0\.13 --admin-port 9999 --proxy-port 80 --log-address 10\.0\.0\.11 --log-port 5140 /,
    );
    for (const gate of gates)
      assert.ok(switchRun.dependencies.includes(gate.urn), `switch waits for ${gate.name}`);
    for (const host of HOSTS)
      assert.ok(
        switchRun.dependencies.includes(named(resources, `host-${host.name}-proxy`).urn) ||
          switchRun.dependencies.some((urn) => urn.endsWith(`::host-${host.name}-proxy`)),
        `switch waits for ${host.name}'s proxy`,
      );
  });

  it("runs backup, drill and migration on greenlight:dataHost, passing their variables by name only, the secrets on stdin", async () => {
    const { resources } = await program("production");
    for (const name of ["backup-run", "backup-restore-drill", "migration-run"]) {
      const step = named(resources, name);
      assert.equal(step.type, RESOURCE.remoteCommand, name);
      assert.equal(connection(step).host, "web-1.prod.internal");
      const line = String(step.inputs.create);
      // Secrets by name into a pipe (out of `docker inspect`), plain variables with -e.
      assert.match(
        line,
        /^printf '%s\\0' "PGPASSWORD=\$PGPASSWORD"( "DATABASE_URL=\$DATABASE_URL")? \| docker run -i --rm --network host (-e [A-Z_]+ )+/,
      );
      assert.ok(!line.includes("-e PGPASSWORD") && line.includes("-e PGHOST"), name);
      assert.match(line, / greenlight-ops:[a-f0-9]{16} --env-stdin (backup|restore|migrate) /);
    }
    assert.match(
      String(named(resources, "migration-run").inputs.create),
      /-v \/var\/run\/docker\.sock:\/var\/run\/docker\.sock/,
    );
  });

  it("keeps the local stack on this machine: no provider, no host, every step a local command", async () => {
    const { resources } = await program("local");
    assert.ok(
      !resources.some(
        (resource) => resource.type === RESOURCE.dockerProvider || resource.type === COMPONENT.dockerHost,
      ),
    );
    assert.ok(!resources.some((resource) => resource.type === RESOURCE.remoteCommand));
  });

  it("refuses a placement that leaves a host without a replica of each color, a missing key and an unknown data host", async () => {
    const fewer = await anyRun("production", { "greenlight:replicas": 2 });
    assert.equal(fewer.ok, false);
    if (!fewer.ok)
      assert.match(
        fewer.message,
        /greenlight:replicas: got "2"; expected at least one replica of each color per host: 2 replicas over 3 hosts/,
      );
    const noKey = await anyRun("production", { "greenlight:sshPrivateKey": null });
    assert.equal(noKey.ok, false);
    if (!noKey.ok)
      assert.match(noKey.message, /greenlight:sshPrivateKey: .*expected the hosts' SSH private key/);
    const unknown = await anyRun("production", { "greenlight:dataHost": "db-1" });
    assert.equal(unknown.ok, false);
    if (!unknown.ok)
      assert.match(
        unknown.message,
        /greenlight:dataHost: got "db-1"; expected one of greenlight:hosts \(web-1, web-2, web-3\)/,
      );
  });
});
