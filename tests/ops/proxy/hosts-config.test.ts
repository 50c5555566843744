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
  adminTcp: { address: "10.0.0.11", port: 9999 },
  logAddress: "10.0.0.11",
  logPort: 5140,
  foreground: true,
  stateDir: "/var/lib/greenlight/proxy",
  maintenanceMode: "off",
  healthPath: "/health",
  ...overrides,
});

const lines = (text: string, pattern: RegExp) => text.split("\n").filter((line) => pattern.test(line));

describe("HAProxy config of a proxy on a host (pure)", () => {
  it("listens on the given address, serves the runtime API on the private address too, logs to the coordinator, runs in the foreground", () => {
    const text = renderHaproxyConfig(onHost());
    assert.deepEqual(lines(text, /^\s+(bind|stats socket|log |daemon)/), [
      "  stats socket /var/lib/greenlight/proxy/haproxy.sock mode 600 level admin expose-fd listeners",
      "  stats socket ipv4@10.0.0.11:9999 level admin",
      "  log 10.0.0.11:5140 len 1024 format raw local0",
      "  log global",
      "  bind 0.0.0.0:80",
    ]);
  });

  it("without host settings it renders exactly what the local proxy always had: 127.0.0.1, a daemon, no TCP socket", () => {
    const text = renderHaproxyConfig(
      onHost({ listenAddress: undefined, adminTcp: undefined, logAddress: undefined, foreground: undefined }),
    );
    assert.deepEqual(lines(text, /^\s+(bind|stats socket|log |daemon)/), [
      "  daemon",
      "  stats socket /var/lib/greenlight/proxy/haproxy.sock mode 600 level admin expose-fd listeners",
      "  log 127.0.0.1:5140 len 1024 format raw local0",
      "  log global",
      "  bind 127.0.0.1:80",
    ]);
  });

  it("refuses bad addresses and an admin port on the proxy port, naming the field", () => {
    const cases: [Partial<ProxyState>, RegExp][] = [
      [{ listenAddress: "0.0.0.0; rm" }, /listenAddress "0\.0\.0\.0; rm" is not a host name or IPv4 address/],
      [{ adminTcp: { address: "10.0.0.11 x", port: 9999 } }, /adminTcp\.address "10\.0\.0\.11 x" is not/],
      [{ adminTcp: { address: "10.0.0.11", port: 80 } }, /adminTcp\.port 80 is the proxy's own port/],
      [{ adminTcp: { address: "10.0.0.11", port: 70000 } }, /adminTcp\.port 70000 is not a TCP\/UDP port/],
      [{ logAddress: "" }, /logAddress "" is not a host name/],
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

    it("a host's proxy: TCP runtime API, remote log target, foreground", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-render-"));
      try {
        const file = path.join(dir, "haproxy.cfg");
        fs.writeFileSync(
          file,
          renderHaproxyConfig(
            onHost({
              stateDir: dir,
              adminTcp: { address: "127.0.0.2", port: 9999 },
              logAddress: "127.0.0.2",
            }),
          ),
        );
        execFileSync(binary, ["-c", "-f", file], { stdio: "pipe" });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
