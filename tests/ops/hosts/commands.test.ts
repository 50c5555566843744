import { strict as assert } from "assert";
import { builtinModules } from "module";
import * as path from "path";
import { InvalidArgumentError } from "commander";
import { parseDependencyTree } from "dpdm";
import { parseServersState } from "../../../ops/proxy/runtime";
import {
  OPS_RUNTIME_PACKAGES,
  loadedAtRunTime,
  opsImageFiles,
  opsImageName,
  opsImageTag,
} from "../../../ops/hosts/image";
import { savedStateFor, startingColor } from "../../../ops/proxy/run";
import {
  HostProxySettings,
  opsRunCommand,
  proxyCommandArgs,
  proxyContainerName,
  proxyRunCommand,
} from "../../../ops/hosts/remote";
import {
  hostsFromOptions,
  parseAdminSocketEntry,
  parseHostEntry,
  parseHostKeyEntry,
} from "../../../ops/control/cli";
import { adminSocketQuery, relayCommand } from "../../../ops/control";
import { adminSocketOnHost } from "../../../ops/control/socket";
import { PROXY_ADMIN_SOCKET_IN_VOLUME, PROXY_STATE_DIR, PROXY_STATE_MOUNT } from "../../../ops/hosts/remote";
import { proxyPaths } from "../../../ops/proxy/config";
import { PROJECT_DIR } from "../support/cli";

const settings: HostProxySettings = {
  listenAddress: "0.0.0.0",
  proxyPort: 80,
  upstreamHost: "127.0.0.1",
  hostPorts: { blue: 3000, green: 3100 },
  replicas: 2,
  healthPath: "/health",
  checkIntervalMs: 1000,
  maintenance: "off",
};

const STATE_HEADER =
  "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";
const stateLine = (id: number, name: string, port: number, adminState: number) =>
  `3 app ${id} ${name} 127.0.0.1 2 ${adminState} 1 1 5 15 3 3 6 0 0 0 - ${port} - 0 0 - - 0`;

describe("remote commands of the hosts (pure)", () => {
  it("the proxy container: its command, and the docker run line the contract documents", () => {
    assert.equal(proxyContainerName("shop", "production"), "greenlight-proxy-shop-production");
    assert.deepEqual(proxyCommandArgs(settings), [
      "proxy",
      ...["--state-dir", "/var/lib/greenlight/proxy", "--listen-address", "0.0.0.0", "--proxy-port", "80"],
      ...["--upstream-host", "127.0.0.1", "--blue-port", "3000", "--green-port", "3100", "--replicas", "2"],
      ...["--health-path", "/health", "--check-interval-ms", "1000", "--maintenance", "off"],
    ]);
    assert.equal(
      proxyRunCommand("greenlight-ops:0123456789abcdef", "shop", "production", settings),
      "docker run -d --name greenlight-proxy-shop-production --network host --restart unless-stopped --init --stop-timeout 35 " +
        "--cap-drop ALL --cap-add CAP_NET_BIND_SERVICE --cap-add CAP_SETUID --cap-add CAP_SETGID --cap-add CAP_KILL " +
        "--security-opt no-new-privileges " +
        "-v greenlight-proxy-shop-production:/var/lib/greenlight greenlight-ops:0123456789abcdef " +
        "proxy --state-dir /var/lib/greenlight/proxy --listen-address 0.0.0.0 --proxy-port 80 --upstream-host 127.0.0.1 --blue-port 3000 " +
        "--green-port 3100 --replicas 2 --health-path /health --check-interval-ms 1000 --maintenance off",
    );
  });

  it("a step in the ops image: variables by name only (secrets on stdin), values shell-quoted, the docker socket only when asked", () => {
    assert.equal(
      opsRunCommand(
        "greenlight-ops:0123456789abcdef",
        "smoke",
        { color: "green", release: "v2", check: ['/ 200 text="it\'s up"', "/health 200"], readiness: false },
        { envNames: ["GREENLIGHT_WEBHOOK_URL"] },
      ),
      // The webhook URL carries its token: on stdin like every secret, never `-e` (docker inspect shows those).
      `printf '%s\\0' "GREENLIGHT_WEBHOOK_URL=$GREENLIGHT_WEBHOOK_URL" | docker run -i --rm --network host ` +
        "greenlight-ops:0123456789abcdef --env-stdin smoke --color green " +
        `--release v2 --check '/ 200 text="it'\\''s up"' --check '/health 200'`,
    );
    assert.equal(
      opsRunCommand(
        "greenlight-ops:x",
        "migrate",
        { release: "v2" },
        { envNames: ["PGHOST", "PGPASSWORD", "DATABASE_URL"], dockerSocket: true },
      ),
      `printf '%s\\0' "PGPASSWORD=$PGPASSWORD" "DATABASE_URL=$DATABASE_URL" | docker run -i --rm --network host -e PGHOST ` +
        "-v /var/run/docker.sock:/var/run/docker.sock greenlight-ops:x --env-stdin migrate --release v2",
    );
    assert.throws(
      () => opsRunCommand("i", "smoke", {}, { envNames: ["X=secret"] }),
      /environment variable name "X=secret"/,
    );
    assert.throws(() => opsRunCommand("i", "rm -rf", {}), /ops step "rm -rf" is not a step name/);
    assert.throws(() => opsRunCommand("i", "smoke", { "a b": 1 }), /flag "a b" is not a flag name/);
  });

  it("the relay in a host's proxy container: docker exec -i of its own entry, which the ops image carries", () => {
    assert.equal(
      relayCommand("greenlight-proxy-shop-production"),
      "exec docker exec -i greenlight-proxy-shop-production /usr/local/bin/node /opt/greenlight/bin/build/ops/control/relay-main.js",
    );
    // The image copies the staged app/ to /opt/greenlight (images/ops/Dockerfile): the entry is there.
    const files = opsImageFiles(PROJECT_DIR);
    assert.ok(files.some((file) => file.path === "app/bin/build/ops/control/relay-main.js"));
    const dockerfile = String(files.find((file) => file.path === "Dockerfile")?.content);
    assert.match(dockerfile, /^COPY app\/ \/opt\/greenlight\/$/m);
    assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/local\/bin\/node",/m);
  });

  it("a host of switch-hosts and host-keys: name=user@address[:ssh port], its key name=type base64", () => {
    assert.deepEqual(parseHostEntry("web-1=deploy@web-1.prod.internal"), {
      name: "web-1",
      user: "deploy",
      address: "web-1.prod.internal",
      port: 22,
    });
    assert.deepEqual(parseHostEntry("h2=root@127.0.0.2:2222"), {
      name: "h2",
      user: "root",
      address: "127.0.0.2",
      port: 2222,
    });
    for (const bad of [
      "10.0.0.11",
      "Web=root@10.0.0.11",
      "web=root@10.0.0.11:99999",
      "web=10.0.0.11",
      "web=root@a b",
    ]) {
      assert.throws(() => parseHostEntry(bad), InvalidArgumentError, bad);
    }
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPad3uJpYFrNrv8WLr9npEuUv85mDbiISbJy0C/t3T5P";
    assert.deepEqual(parseHostKeyEntry(`web-1=${key}`), { name: "web-1", hostKey: key });
    for (const bad of [key, `web-1=ssh-rsa ${key.split(" ")[1]}`, "web-1=ssh-ed25519 not base64!", "=x"]) {
      assert.throws(() => parseHostKeyEntry(bad), InvalidArgumentError, bad);
    }
  });

  it("a host's admin socket: the proxy's own socket inside its state volume, an absolute path sshd can connect to", () => {
    // The socket HAProxy makes in the container is the one the volume's mountpoint leads to on the host.
    assert.equal(`${PROXY_STATE_MOUNT}${PROXY_ADMIN_SOCKET_IN_VOLUME}`, proxyPaths(PROXY_STATE_DIR).socket);
    const volume = "/var/lib/docker/volumes/greenlight-proxy-shop-production/_data";
    assert.deepEqual(parseAdminSocketEntry(`web-1=${volume}/proxy/haproxy.sock`), {
      name: "web-1",
      adminSocket: `${volume}/proxy/haproxy.sock`,
    });
    for (const bad of [
      "web-1=relative/haproxy.sock",
      "web-1=/var/lib/../../etc/shadow",
      "web-1=/tmp/a b.sock",
      "web-1=/tmp/$(reboot).sock",
      `web-1=/${"x".repeat(107)}`,
      "=/tmp/haproxy.sock",
    ])
      assert.throws(() => parseAdminSocketEntry(bad), InvalidArgumentError, bad);
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPad3uJpYFrNrv8WLr9npEuUv85mDbiISbJy0C/t3T5P";
    const options = (adminSocket?: { name: string; adminSocket: string }[]) => ({
      host: [parseHostEntry("web-1=root@10.0.0.11"), parseHostEntry("web-2=root@10.0.0.12")],
      hostKey: [parseHostKeyEntry(`web-1=${key}`), parseHostKeyEntry(`web-2=${key}`)],
      adminSocket,
    });
    const hosts = hostsFromOptions(options([{ name: "web-2", adminSocket: "/run/a.sock" }]));
    assert.deepEqual(
      hosts.map((host) => host.adminSocket),
      [undefined, "/run/a.sock"],
      "given per host; unset, the host's Docker is asked",
    );
    assert.throws(
      () => hostsFromOptions(options([{ name: "web-9", adminSocket: "/run/a.sock" }])),
      /--admin-socket web-9: no --host of that name/,
    );
    // Asked of Docker when not given: whether the container runs, and its state volume's source.
    assert.equal(
      adminSocketQuery("greenlight-proxy-shop-production"),
      `exec docker inspect --format '{{.State.Running}} {{range .Mounts}}{{if eq .Destination "/var/lib/greenlight"}}{{.Source}}{{end}}{{end}}' greenlight-proxy-shop-production`,
    );
    assert.equal(adminSocketOnHost(`true ${volume}\n`, "p"), `${volume}/proxy/haproxy.sock`);
    assert.throws(() => adminSocketOnHost(`false ${volume}\n`, "p"), /the proxy container p is not running/);
    assert.throws(() => adminSocketOnHost("true \n", "p"), /has no state volume at \/var\/lib\/greenlight/);
    assert.throws(() => adminSocketOnHost(`true /${"x".repeat(100)}`, "p"), /too long for sshd/);
  });
});

describe("the proxy's saved runtime state (pure)", () => {
  const layout = [
    { name: "blue-0", color: "blue" as const, host: "127.0.0.1", port: 3000 },
    { name: "green-0", color: "green" as const, host: "127.0.0.1", port: 3100 },
  ];

  it("keeps the servers whose address stays, drops moved ones, none for an unreadable file", () => {
    const saved =
      STATE_HEADER + [stateLine(1, "blue-0", 3000, 8), stateLine(2, "green-0", 3101, 0)].join("\n");
    const kept = savedStateFor(saved, layout);
    assert.deepEqual(
      parseServersState(kept ?? "").map((state) => state.name),
      ["blue-0"],
    );
    assert.equal(savedStateFor("", layout), undefined);
    assert.equal(savedStateFor(STATE_HEADER + stateLine(1, "blue-0", 4000, 0), layout), undefined);
  });

  it("starts with the color the saved state served, else the saved config's, else the initial color", () => {
    const greenServed =
      STATE_HEADER + [stateLine(1, "blue-0", 3000, 8), stateLine(2, "green-0", 3100, 0)].join("\n");
    assert.equal(startingColor(greenServed, "# active color: blue\n", "blue"), "green");
    const neither =
      STATE_HEADER + [stateLine(1, "blue-0", 3000, 8), stateLine(2, "green-0", 3100, 8)].join("\n");
    assert.equal(startingColor(neither, "# active color: green\n", "blue"), "green");
    assert.equal(startingColor(undefined, undefined, "blue"), "blue");
  });
});

describe("the ops image's tag (pure) and contents", () => {
  const file = (filePath: string, text: string) => ({ path: filePath, content: Buffer.from(text) });

  it("is a hash of every path and content: order does not matter, any byte or name changes it", () => {
    const files = [file("Dockerfile", "FROM x"), file("app/bin/build/ops/cli.js", "main()")];
    const tag = opsImageTag(files);
    assert.match(tag, /^[0-9a-f]{16}$/);
    assert.equal(opsImageTag([...files].reverse()), tag);
    assert.notEqual(opsImageTag([files[0], file("app/bin/build/ops/cli.js", "main();")]), tag);
    assert.notEqual(opsImageTag([files[0], file("app/bin/build/ops/cli2.js", "main()")]), tag);
    assert.notEqual(
      opsImageTag([file("Dockerfile", "FROM xapp/bin/build/ops/cli.js"), file("", "main()")]),
      tag,
    );
    assert.equal(opsImageName(files), `greenlight-ops:${tag}`);
  });

  it("leaves out of the packages only what a CommonJS require() never loads", () => {
    for (const kept of [
      "app/node_modules/pg/lib/index.js",
      "app/node_modules/zod/index.cjs",
      "app/node_modules/@aws-sdk/client-s3/dist-cjs/index.js",
      "app/node_modules/luxon/package.json",
    ])
      assert.equal(loadedAtRunTime(kept), true, kept);
    for (const dropped of [
      "app/node_modules/@aws-sdk/client-s3/dist-es/index.js",
      "app/node_modules/@aws-sdk/client-s3/dist-types/index.d.ts",
      "app/node_modules/zod/index.d.cts",
      "app/node_modules/zod/src/index.ts",
      "app/node_modules/pg/README.md",
      "app/node_modules/luxon/build/cjs-browser/luxon.js.map",
    ])
      assert.equal(loadedAtRunTime(dropped), false, dropped);
  });

  it("carries every package the CLI imports at run time (the import graph from ops/cli.ts)", async () => {
    // dpdm parses the graph as TypeScript does; `transform` drops type-only imports, which never load.
    const tree = await parseDependencyTree(path.join(PROJECT_DIR, "ops", "cli.ts"), {
      context: PROJECT_DIR,
      tsconfig: path.join(PROJECT_DIR, "tsconfig.json"),
      transform: true,
    });
    assert.ok(path.join("ops", "lib", "step.ts") in tree, "the graph reached the steps' shared files");
    const bare = new Set<string>();
    for (const dependencies of Object.values(tree))
      for (const { request } of dependencies ?? [])
        if (!request.startsWith("."))
          bare.add(
            request.startsWith("@") ? request.split("/").slice(0, 2).join("/") : request.split("/")[0],
          );
    const builtins = new Set(builtinModules);
    const packages = [...bare].filter((name) => !builtins.has(name)).sort();
    assert.deepEqual(packages, [...OPS_RUNTIME_PACKAGES].sort());
  });
});
