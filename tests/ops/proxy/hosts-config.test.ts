import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProxyState, colorServers, renderHaproxyConfig, validateProxyState } from "../../../ops/proxy/config";
import { haproxyBinary } from "../../../ops/proxy/process";
import { needService } from "../../support/service";

const onHost = (overrides: Partial<ProxyState> = {}): ProxyState => ({
  activeColor: "blue",
  servers: colorServers("127.0.0.1", { blue: 3000, green: 3100 }, 2),
  proxyPort: 80,
  listenAddress: "0.0.0.0",
  foreground: true,
  dropPrivileges: true,
  stateDir: "/var/lib/greenlight/proxy",
  maintenanceMode: "off",
  healthPath: "/health",
  ...overrides,
});

const lines = (text: string, pattern: RegExp) => text.split("\n").filter((line) => pattern.test(line));

describe("HAProxy config of a proxy on a host (pure)", () => {
  it("listens only on the front: the runtime API is the mode-600 UNIX socket, the access log a ring inside HAProxy, its workers nobody", () => {
    const text = renderHaproxyConfig(onHost());
    assert.deepEqual(lines(text, /^\s*(bind|stats socket|log |daemon|uid|gid|ring)/), [
      "  stats socket /var/lib/greenlight/proxy/haproxy.sock mode 600 level admin expose-fd listeners",
      "  uid 65534",
      "  gid 65534",
      "  log ring@access len 1024 format raw local0",
      "ring access",
      "  log global",
      "  bind 0.0.0.0:80",
    ]);
    // The issue's defect: a `stats socket ipv4@…` admin listener on the network, and a UDP log target.
    assert.ok(
      !/ipv4@|ipv6@|stats socket [^/]|log \d/.test(text),
      "no TCP admin listener, no network log target",
    );
  });

  it("without host settings it renders the local proxy: 127.0.0.1, a daemon, workers as the user who runs it", () => {
    const text = renderHaproxyConfig(
      onHost({ listenAddress: undefined, foreground: undefined, dropPrivileges: undefined }),
    );
    assert.deepEqual(lines(text, /^\s*(bind|stats socket|log |daemon|uid|gid|ring)/), [
      "  daemon",
      "  stats socket /var/lib/greenlight/proxy/haproxy.sock mode 600 level admin expose-fd listeners",
      "  log ring@access len 1024 format raw local0",
      "ring access",
      "  log global",
      "  bind 127.0.0.1:80",
    ]);
  });

  it("refuses a bad listen address and a replica on the proxy port, naming the field", () => {
    const cases: [Partial<ProxyState>, RegExp][] = [
      [{ listenAddress: "0.0.0.0; rm" }, /listenAddress "0\.0\.0\.0; rm" is not a host name or IPv4 address/],
      [
        { servers: colorServers("127.0.0.1", { blue: 80, green: 3100 }, 1) },
        /server blue-0 uses the proxy's own port 80/,
      ],
    ];
    for (const [overrides, message] of cases)
      assert.throws(() => validateProxyState(onHost(overrides)), message);
  });

  describe("accepted by the real haproxy -c", function () {
    const binary = haproxyBinary();
    before(async function () {
      await needService(this, "HAProxy", async () => {
        execFileSync(binary, ["-v"], { stdio: "pipe" });
      });
    });

    it("a host's proxy: UNIX runtime API, access-log ring, foreground, workers as nobody", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-render-"));
      try {
        const file = path.join(dir, "haproxy.cfg");
        fs.writeFileSync(file, renderHaproxyConfig(onHost({ stateDir: dir })));
        execFileSync(binary, ["-c", "-f", file], { stdio: "pipe" });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
