// The program on Docker hosts (issue: remote hosts and more than one), under mocks: one ssh:// docker
// provider per declared host, every container and image of a host through it, the proxy and the ops
// image on each host, a gate per host, the switch on the first host, the data steps on greenlight:dataHost
// — and no gate, switch or guard as a local command in a stack with hosts.
import { strict as assert } from "assert";
import { COMPONENT, RESOURCE, STEP, STEP_ENV } from "../../../contract/resources";
import { RecordedResource, isSecretMarker } from "../../../tools/harness/types";
import * as fs from "fs";
import * as path from "path";
import { anyRun, dependencyNames, named, ofType, program } from "../support";
import { PROJECT_DIR } from "../../ops/support/cli";

// The production stack file's hosts and their pinned keys.
const HOSTS = [
  {
    name: "web-1",
    address: "web-1.prod.internal",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPad3uJpYFrNrv8WLr9npEuUv85mDbiISbJy0C/t3T5P",
  },
  {
    name: "web-2",
    address: "web-2.prod.internal",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmPfXtxLmbTo4Y+9Gg4SxE4mbrYGyD8Km5xn/Q4PHZ6",
  },
  {
    name: "web-3",
    address: "web-3.prod.internal",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICi5rKzDKTtlfYRfTfklAXudfIYSj2VVGm0KAqwn1Hiw",
  },
];

const env = (resource: RecordedResource) => resource.inputs.environment as Record<string, unknown>;
/** A remote command's connection: the command SDK makes the whole object a secret (it holds the key). */
const connection = (resource: RecordedResource) => {
  const value = resource.inputs.connection;
  assert.ok(isSecretMarker(value), `${resource.name}: the connection is a secret`);
  return value.value as { host: string; port: number; user: string; privateKey: unknown; hostKey: string };
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
        const pulled = named(resources, `host-${host.name}-pull-${color}`);
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

  it("builds the ops image once here, sends it to each host, and runs that host's proxy from the delivered id, listening for clients only, its workers unprivileged", async () => {
    const { resources } = await program("production");
    const image = named(resources, "ops-image-amd64-build");
    assert.equal(image.type, RESOURCE.image);
    assert.equal(image.provider, undefined, "this machine's engine builds it, no host's");
    assert.match(String(image.inputs.imageName), /^greenlight-ops:[a-f0-9]{16}$/);
    assert.equal(image.inputs.skipPush, true);
    assert.deepEqual((image.inputs.build as { args: Record<string, string> }).args, {
      // Pinned by digest in production (greenlight:requireDigest covers the ops image's base).
      BASE: "node:22-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46",
    });
    assert.equal(
      resources.filter((resource) => resource.type === RESOURCE.image).length,
      1,
      "built once for the three hosts",
    );
    for (const [index, host] of HOSTS.entries()) {
      const delivery = named(resources, `host-${host.name}-deliver-ops`);
      assert.ok(
        String(delivery.inputs.create).includes(`--image ${String(image.outputs?.repoDigest)} `),
        "the built id is what the host must hold",
      );
      const proxy = named(resources, `host-${host.name}-proxy`);
      const command = proxy.inputs.command as string[];
      const flag = (name: string) => command[command.indexOf(`--${name}`) + 1];
      assert.equal(command[0], "proxy");
      assert.deepEqual(["listen-address", "proxy-port", "replicas"].map(flag), ["0.0.0.0", "80", "1"]);
      // The issue's defect: the runtime API on TCP and the access log over UDP, both on the network.
      for (const gone of ["admin-address", "admin-port", "log-address", "log-port"])
        assert.ok(!command.includes(`--${gone}`), `no --${gone}`);
      assert.equal(proxy.inputs.networkMode, "host");
      assert.deepEqual(proxy.inputs.capabilities, {
        drops: ["ALL"],
        adds: ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"],
      });
      assert.deepEqual(proxy.inputs.securityOpts, ["no-new-privileges"]);
      assert.equal(proxy.inputs.image, image.outputs?.repoDigest, "the id built here, checked on arrival");
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

  it("runs a gate on every host, probing that host's replicas, and the switch here over SSH to all of them", async () => {
    const { resources } = await program("production");
    const commands = resources.filter(
      (resource) => resource.type === RESOURCE.command || resource.type === RESOURCE.remoteCommand,
    );
    for (const command of commands) {
      if (stepOf(command) === STEP.healthGate)
        assert.equal(command.type, RESOURCE.remoteCommand, `${command.name} runs on a host`);
    }
    const gates = commands.filter((command) => stepOf(command) === STEP.healthGate);
    assert.deepEqual(
      gates.map((gate) => connection(gate).host),
      HOSTS.map((host) => host.address),
    );
    for (const gate of gates) {
      assert.equal(connection(gate).privateKey, "[secret]", "the key's value is never recorded");
      const host = HOSTS.find((candidate) => candidate.address === connection(gate).host);
      assert.equal(connection(gate).hostKey, host?.hostKey, `${gate.name} pins its host's key`);
      assert.match(
        String(gate.inputs.create),
        // The webhook URL (a secret) on the container's stdin, never `-e` (docker inspect shows those).
        /^printf '%s\\0' "GREENLIGHT_WEBHOOK_URL=\$GREENLIGHT_WEBHOOK_URL" \| docker run -i --rm --network host greenlight-ops:[a-f0-9]{16} --env-stdin health-gate --color blue .* --host 127\.0\.0\.1 /,
      );
    }
    const switchRun = named(resources, "switch-run");
    assert.equal(switchRun.type, RESOURCE.command, "the coordinator runs where pulumi up runs");
    const line = String(switchRun.inputs.create);
    assert.match(
      line,
      /^node bin\/greenlight-ops\.js switch-hosts --color blue .* --host web-1=deploy@web-1\.prod\.internal:22 --host web-2=deploy@web-2\.prod\.internal:22 --host web-3=deploy@web-3\.prod\.internal:22 /,
    );
    for (const host of HOSTS)
      assert.ok(line.includes(`--host-key '${host.name}=${host.hostKey}'`), host.name);
    // Each host's admin socket, in its proxy's state volume (the volume's mountpoint, read back from the
    // engine): sshd forwards it, so the switch asks no Docker and starts no process on a host.
    for (const host of HOSTS)
      assert.ok(
        line.includes(
          `--admin-socket ${host.name}=/var/lib/docker/volumes/greenlight-proxy-shop-production/_data/proxy/haproxy.sock`,
        ),
        `${host.name}'s admin socket: ${line}`,
      );
    assert.match(line, / --container greenlight-proxy-shop-production --proxy-port 80 /);
    assert.ok(!/admin-port|log-port|log-address/.test(line));
    assert.ok(
      isSecretMarker(env(switchRun).GREENLIGHT_SSH_PRIVATE_KEY),
      "the hosts' key reaches it as a secret, in its environment only",
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

  it("pins every host's key: each remote command verifies it, the docker provider reads it from a known_hosts file, and a check runs before anything reaches the host", async () => {
    const { resources } = await program("production");
    const remote = ofType(resources, RESOURCE.remoteCommand);
    assert.ok(remote.length >= 6);
    for (const command of remote) {
      const host = HOSTS.find((candidate) => candidate.address === connection(command).host);
      assert.ok(host, `${command.name} runs on a declared host`);
      assert.equal(connection(command).hostKey, host.hostKey, `${command.name} pins ${host.name}'s key`);
    }
    const knownHosts = fs.readFileSync(path.join(PROJECT_DIR, ".greenlight/known_hosts/production"), "utf8");
    assert.equal(
      knownHosts,
      HOSTS.map((host) => `${host.address} ${host.hostKey}`).join("\n") + "\n",
      "one line per host, port 22 written as OpenSSH looks it up",
    );
    for (const host of HOSTS) {
      const provider = named(resources, `host-${host.name}-docker`);
      assert.deepEqual(JSON.parse(String(provider.inputs.sshOpts)), [
        ...["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "StrictHostKeyChecking=yes"],
        ...[
          "-o",
          "UserKnownHostsFile=.greenlight/known_hosts/production",
          "-o",
          "GlobalKnownHostsFile=/dev/null",
        ],
        ...["-o", "UpdateHostKeys=no", "-o", "HostKeyAlgorithms=ssh-ed25519"],
      ]);
      const check = named(resources, `host-${host.name}-host-key`);
      assert.equal(check.type, RESOURCE.command, "checked from here, before authenticating");
      assert.equal(
        check.inputs.create,
        `node bin/greenlight-ops.js host-keys --host ${host.name}=deploy@${host.address}:22 --host-key '${host.name}=${host.hostKey}'`,
      );
      assert.equal(env(check)[STEP_ENV.step], STEP.hostKey);
      assert.ok(
        dependencyNames(resources, provider).includes(check.name),
        "the provider waits for the check",
      );
      assert.deepEqual(
        dependencyNames(resources, check),
        ["release-record"],
        "every host is checked right after the record",
      );
      assert.ok(
        (check.inputs.triggers as unknown[]).includes(host.hostKey),
        "a new pinned key runs the check again",
      );
    }
  });

  it("refuses a host without a pinned key, a key that is not one, an RSA key and the retired keys, naming each", async () => {
    const hosts = (overrides: Record<string, unknown>[]) =>
      JSON.stringify(
        HOSTS.map((host, index) => ({
          name: host.name,
          address: host.address,
          user: "deploy",
          hostKey: host.hostKey,
          ...overrides[index],
        })),
      );
    const cases: [Record<string, string | null>, RegExp][] = [
      [
        { "greenlight:hosts": hosts([{}, { hostKey: undefined }, {}]) },
        /greenlight:hosts: .*expected the host's SSH key, pinned: '<type> <base64>'.*\(item 1\.hostKey\)/,
      ],
      [
        { "greenlight:hosts": hosts([{ hostKey: "ssh-ed25519 AAAAC3NzaC1yc2EAAAADAQAB" }, {}, {}]) },
        /expected a host key whose base64 body is a key of the type it names \(item 0\.hostKey\)/,
      ],
      [
        { "greenlight:hosts": hosts([{}, {}, { hostKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" }]) },
        /expected the host's SSH key, pinned.*\(item 2\.hostKey\)/,
      ],
      [
        { "greenlight:hosts": hosts([{ privateAddress: "10.0.0.11" }, {}, {}]) },
        /expected no privateAddress: nothing listens on the private network any more/,
      ],
      [
        { "greenlight:proxyAdminPort": "9999" },
        /greenlight:proxyAdminPort: got "9999"; expected no proxyAdminPort: the proxies' runtime API no longer listens on TCP/,
      ],
      [
        { "greenlight:proxyLogPort": "5140" },
        /greenlight:proxyLogPort: got "5140"; expected no proxyLogPort/,
      ],
    ];
    for (const [overrides, message] of cases) {
      const run = await anyRun("production", overrides);
      assert.equal(run.ok, false, JSON.stringify(overrides));
      if (!run.ok) assert.match(run.message, message);
    }
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
