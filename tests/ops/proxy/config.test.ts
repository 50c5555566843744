import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ProxyState,
  activeColorOfConfig,
  colorServers,
  renderHaproxyConfig,
  validateProxyState,
} from "../../../ops/proxy/config";
import { haproxyBinary } from "../../../ops/proxy/process";
import { LOG_FORMAT } from "../../../ops/proxy/config";
import { IN_CI } from "../../support/service";

const base = (overrides: Partial<ProxyState> = {}): ProxyState => ({
  activeColor: "blue",
  servers: colorServers("127.0.0.1", { blue: 18081, green: 18091 }, 2),
  proxyPort: 18080,
  stateDir: "/var/lib/greenlight/production",
  maintenanceMode: "off",
  healthPath: "/health",
  ...overrides,
});

const serverLines = (text: string) => text.split("\n").filter((line) => line.trim().startsWith("server "));

describe("HAProxy config rendering (pure)", () => {
  it("enables the active color's servers and disables the idle color's, for each color", () => {
    assert.deepEqual(serverLines(renderHaproxyConfig(base())), [
      "  server blue-0 127.0.0.1:18081 cookie blue-0",
      "  server blue-1 127.0.0.1:18082 cookie blue-1",
      "  server green-0 127.0.0.1:18091 cookie green-0 disabled",
      "  server green-1 127.0.0.1:18092 cookie green-1 disabled",
    ]);
    assert.deepEqual(serverLines(renderHaproxyConfig(base({ activeColor: "green" }))), [
      "  server blue-0 127.0.0.1:18081 cookie blue-0 disabled",
      "  server blue-1 127.0.0.1:18082 cookie blue-1 disabled",
      "  server green-0 127.0.0.1:18091 cookie green-0",
      "  server green-1 127.0.0.1:18092 cookie green-1",
    ]);
  });

  it("keeps a client on the server its cookie names only while that server has a weight", () => {
    const lines = renderHaproxyConfig(base()).split("\n");
    assert.ok(lines.includes("  cookie GL_COLOR insert indirect nocache"));
    assert.deepEqual(
      lines.filter((line) => line.includes("ignore-persist")),
      ["blue-0", "blue-1", "green-0", "green-1"].map(
        (name) =>
          `  ignore-persist if { req.cook(GL_COLOR) -m str ${name} } { srv_weight(app/${name}) eq 0 }`,
      ),
    );
  });

  it("a preview front listens on loopback or a private address only, never where users arrive, and logs nothing", () => {
    const text = renderHaproxyConfig(base({ preview: { address: "127.0.0.1", port: 18079 } }));
    const section = text.slice(text.indexOf("frontend preview"));
    assert.match(
      section,
      /^frontend preview\n {2}bind 127\.0\.0\.1:18079\n {2}no log\n {2}default_backend preview\n/,
    );
    assert.match(section, / {2}server green-0 127\.0\.0\.1:18091 disabled\n/);
    const refused: [Partial<ProxyState>, RegExp][] = [
      [
        { preview: { address: "0.0.0.0", port: 18079 } },
        /preview address "0\.0\.0\.0" is not a loopback or private address/,
      ],
      [
        { preview: { address: "203.0.113.7", port: 18079 } },
        /preview address "203\.0\.113\.7" is not a loopback/,
      ],
      [
        { listenAddress: "0.0.0.0", preview: { address: "10.0.0.5", port: 18079 } },
        /preview address 10\.0\.0\.5 is reached through the public listen address 0\.0\.0\.0/,
      ],
      [
        { listenAddress: "10.0.0.5", preview: { address: "10.0.0.5", port: 18079 } },
        /reached through the public listen address 10\.0\.0\.5/,
      ],
      [{ preview: { address: "127.0.0.1", port: 18080 } }, /preview port 18080 is the proxy's own port/],
    ];
    for (const [overrides, message] of refused)
      assert.throws(() => validateProxyState(base(overrides)), message);
  });

  it("two renders differ only in the active color: a flip needs no reload", () => {
    const blue = renderHaproxyConfig(base()).split("\n");
    const green = renderHaproxyConfig(base({ activeColor: "green" })).split("\n");
    const changed = blue.filter((line, index) => line !== green[index]);
    assert.deepEqual(changed, [
      "# active color: blue",
      "  server blue-0 127.0.0.1:18081 cookie blue-0",
      "  server blue-1 127.0.0.1:18082 cookie blue-1",
      "  server green-0 127.0.0.1:18091 cookie green-0 disabled",
      "  server green-1 127.0.0.1:18092 cookie green-1 disabled",
    ]);
    assert.equal(activeColorOfConfig(blue.join("\n")), "blue");
    assert.equal(activeColorOfConfig(green.join("\n")), "green");
    assert.equal(activeColorOfConfig("global\n  daemon\n"), undefined);
  });

  it("binds 127.0.0.1 only, keeps an admin socket and a server-state file in the state dir, logs into its own ring for the guard", () => {
    const text = renderHaproxyConfig(base());
    assert.match(text, /^ {2}bind 127\.0\.0\.1:18080$/m);
    assert.equal((text.match(/^\s*bind /gm) ?? []).length, 1);
    assert.match(text, /stats socket \/var\/lib\/greenlight\/production\/haproxy\.sock mode 600 level admin/);
    assert.match(text, /server-state-file \/var\/lib\/greenlight\/production\/haproxy\.state/);
    assert.match(text, /load-server-state-from-file global/);
    assert.match(text, /^ {2}log ring@access len 1024 format raw local0$/m);
    assert.match(text, /^ring access\n {2}format raw\n {2}maxlen 1024\n {2}size 1048576$/m);
    assert.ok(text.includes(`log-format "${LOG_FORMAT}"`));
    assert.match(text, /option httpchk GET \/health/);
    const quiet = renderHaproxyConfig(base({ accessLog: false }));
    assert.ok(!/log-format|format raw|log global|ring/.test(quiet), "no access log when asked for none");
  });

  it("renders maintenance mode: off passes everything, on answers 503 to all, read-only only to non-GET/HEAD", () => {
    const rule = (text: string) => text.split("\n").filter((line) => line.includes("http-request return"));
    assert.deepEqual(rule(renderHaproxyConfig(base())), []);
    const on = rule(renderHaproxyConfig(base({ maintenanceMode: "on" })));
    assert.equal(on.length, 1);
    assert.match(on[0], /return status 503 .*Down for maintenance.* hdr retry-after 300$/);
    const readOnly = rule(renderHaproxyConfig(base({ maintenanceMode: "read-only" })));
    assert.equal(readOnly.length, 1);
    assert.match(readOnly[0], /return status 503 .* if !METH_GET$/);
  });

  it("refuses bad values, naming them", () => {
    const cases: [Partial<ProxyState>, RegExp][] = [
      [{ activeColor: "purple" as "blue" }, /activeColor "purple" is not a color/],
      [{ proxyPort: 70000 }, /proxyPort 70000 is not a TCP\/UDP port/],
      [{ stateDir: "relative/dir" }, /stateDir "relative\/dir" must be an absolute path/],
      [{ stateDir: `/${"x".repeat(100)}` }, /too long for the admin socket path/],
      [{ healthPath: "/health; drop" }, /healthPath "\/health; drop" is not an absolute URL path/],
      [{ maintenanceMode: "half" as "on" }, /maintenanceMode "half" is not off, on or read-only/],
      [
        { servers: colorServers("127.0.0.1", { blue: 18081, green: 18082 }, 2) },
        /servers blue-1 and green-0 both use 127\.0\.0\.1:18082/,
      ],
      [
        { servers: colorServers("127.0.0.1", { blue: 18080, green: 18091 }, 1) },
        /server blue-0 uses the proxy's own port 18080/,
      ],
      [
        { servers: colorServers("bad host", { blue: 1, green: 2 }, 1) },
        /server blue-0 host "bad host" is not a host name/,
      ],
      [{ servers: colorServers("127.0.0.1", { blue: 1, green: 2 }, 1).slice(0, 1) }, /no green server/],
    ];
    for (const [overrides, message] of cases)
      assert.throws(() => validateProxyState(base(overrides)), message);
  });

  describe("accepted by the real haproxy -c", function () {
    let binary: string;
    before(function () {
      binary = haproxyBinary();
      try {
        execFileSync(binary, ["-v"], { stdio: "pipe" });
      } catch (error) {
        if (IN_CI)
          throw new Error(`HAProxy is not installed (CI=true: a missing service is a failure): ${error}`);
        this.skip();
      }
    });

    for (const [activeColor, maintenanceMode] of [
      ["blue", "off"],
      ["green", "on"],
      ["blue", "read-only"],
    ] as const) {
      it(`${activeColor} active, maintenance ${maintenanceMode}`, () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-render-"));
        try {
          const file = path.join(dir, "haproxy.cfg");
          fs.writeFileSync(file, renderHaproxyConfig(base({ activeColor, maintenanceMode, stateDir: dir })));
          execFileSync(binary, ["-c", "-f", file], { stdio: "pipe" });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
});
