// The documents' commands are exercised: every fenced block tagged `sh test` in README.md, RUNBOOK.md and
// docs/*.md is extracted; what can run here without the Pulumi CLI or services is run (the offline plan,
// the tools' --help, --dry-run and --check modes, the local services check), and everything else is checked
// against the tools' own options and the Pulumi CLI's documented subcommands and flags. Every link in those
// documents resolves to a file of the repository.
// A tested block holds one command per line (`\` continues a line, `#` starts a comment); no `&&`, `;`
// or command substitution. Tag a block ```sh test to have it exercised; a plain ```sh block is not.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { COMMANDS } from "../ops/cli";
import type { ToolIo } from "../tools/lib/io";
import { main as genConfig } from "../tools/gen-config/cli";
import { main as plan } from "../tools/plan/cli";
import { main as release } from "../tools/release/cli";
import { main as rollback } from "../tools/rollback/cli";
import { main as secret } from "../tools/secret/cli";
import { main as stats } from "../tools/stats/cli";
import { EXIT_TABLE } from "../contract/exit-codes";

const ROOT = path.resolve(__dirname, "..");
const DOCS = [
  "README.md",
  "RUNBOOK.md",
  ...fs.readdirSync(path.join(ROOT, "docs")).map((file) => `docs/${file}`),
]
  .filter((file) => file.endsWith(".md"))
  .sort();

// The Pulumi CLI's subcommands and flags the documents may use, from its command reference
// (https://www.pulumi.com/docs/iac/cli/commands/, pages pulumi_<subcommand>).
const PULUMI_GLOBAL_FLAGS = [
  "--color",
  "-C",
  "--cwd",
  "--disable-integrity-checking",
  "-e",
  "--emoji",
  "-Q",
  "--fully-qualify-stack-names",
  "--logflow",
  "--logtostderr",
  "--non-interactive",
  "--profiling",
  "--tracing",
  "-v",
  "--verbose",
  "-h",
  "--help",
];
const PREVIEW_FLAGS = [
  "--attach-debugger",
  "-c",
  "--config",
  "--config-file",
  "--config-path",
  "-d",
  "--debug",
  "--diff",
  "--expect-no-changes",
  "--import-file",
  "-j",
  "--json",
  "-m",
  "--message",
  "-p",
  "--parallel",
  "--policy-pack",
  "--policy-pack-config",
  "-r",
  "--refresh",
  "--replace",
  "--show-config",
  "--show-policy-remediations",
  "--show-reads",
  "--show-replacement-steps",
  "--show-sames",
  "--show-secrets",
  "-s",
  "--stack",
  "--suppress-outputs",
  "--suppress-permalink",
  "--suppress-progress",
  "-t",
  "--target",
  "--target-dependents",
  "--target-replace",
];
const PULUMI_COMMANDS: Record<string, string[]> = {
  version: [],
  login: ["-c", "--cloud-url", "--default-org", "--insecure", "--interactive", "-l", "--local"],
  preview: PREVIEW_FLAGS,
  up: [
    ...PREVIEW_FLAGS.filter((flag) => !["--import-file", "--show-secrets"].includes(flag)),
    "--continue-on-error",
    "--secrets-provider",
    "--show-full-output",
    "-f",
    "--skip-preview",
    "-y",
    "--yes",
  ],
  destroy: [
    "--diff",
    "-j",
    "--json",
    "-m",
    "--message",
    "--preview-only",
    "--remove",
    "-s",
    "--stack",
    "-y",
    "--yes",
  ],
  "stack select": ["-c", "--create", "--secrets-provider", "-s", "--stack"],
  "stack init": ["--copy-config-from", "--no-select", "--secrets-provider", "-s", "--stack", "--teams"],
  "stack history": [
    "--full-dates",
    "-j",
    "--json",
    "--page",
    "--page-size",
    "--show-secrets",
    "-s",
    "--stack",
  ],
  "stack output": ["-j", "--json", "--shell", "--show-secrets", "-s", "--stack"],
  "stack change-secrets-provider": ["-s", "--stack"],
  "config set": ["--path", "--plaintext", "--secret", "--type", "--config-file", "-s", "--stack"],
  "config rm": ["--path", "--config-file", "-s", "--stack"],
  // https://www.pulumi.com/docs/cli/commands/pulumi_cancel/ and pulumi_refresh/ (the interrupted-update
  // recovery: https://www.pulumi.com/docs/iac/operations/troubleshooting/interrupted-updates/).
  cancel: ["-s", "--stack", "-y", "--yes"],
  refresh: [
    "--clear-pending-creates",
    "--import-pending-creates",
    "--skip-pending-creates",
    "--preview-only",
    "--expect-no-changes",
    "-m",
    "--message",
    "--diff",
    "-j",
    "--json",
    "-s",
    "--stack",
    "-y",
    "--yes",
    "--skip-preview",
  ],
};
/** OpenSSH client flags a tested block may use (a non-interactive check of a host). */
const SSH_FLAGS = new Set(["-o", "-p", "-i", "-T"]);

/** One command of a tested block, where it stands. */
interface DocCommand {
  file: string;
  line: number;
  text: string;
}

/** The commands of every `sh test` block: continuation lines joined, comments and blank lines dropped. */
function testedCommands(file: string, text: string): DocCommand[] {
  const commands: DocCommand[] = [];
  const lines = text.split("\n");
  let inBlock = false;
  let pending: DocCommand | undefined;
  lines.forEach((raw, index) => {
    if (!inBlock) {
      inBlock = /^```sh test\s*$/.test(raw);
      return;
    }
    if (/^```\s*$/.test(raw)) {
      inBlock = false;
      return;
    }
    const continued = raw.endsWith("\\");
    const body = continued ? raw.slice(0, -1) : raw;
    pending = pending
      ? { ...pending, text: `${pending.text} ${body.trim()}` }
      : { file, line: index + 1, text: body.trim() };
    if (continued) return;
    const command = stripComment(pending.text);
    if (command !== "") commands.push({ ...pending, text: command });
    pending = undefined;
  });
  return commands;
}

/** A `text output` block: what the last command of the `sh test` block just before it prints. */
interface ExampleOutput {
  file: string;
  line: number;
  command: string;
  expected: string[];
}

/** Every `text output` block, with the command whose output it shows. */
function exampleOutputs(file: string, text: string): ExampleOutput[] {
  const examples: ExampleOutput[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, index) => {
    if (!/^```text output\s*$/.test(raw)) return;
    const end = lines.findIndex((line, at) => at > index && /^```\s*$/.test(line));
    const before = testedCommands(file, lines.slice(0, index).join("\n"));
    const command = before.at(-1);
    assert.ok(command && end > index, `${file}:${index + 1}: a text output block follows a sh test block`);
    examples.push({ file, line: index + 1, command: command.text, expected: lines.slice(index + 1, end) });
  });
  return examples;
}

/**
 * Whether `actual` shows the example: its lines in order, a line "…" standing for any lines, and "…"
 * inside a line for any text. Returns the first example line not found, or undefined.
 */
export function missingExampleLine(expected: string[], actual: string[]): string | undefined {
  let at = 0;
  let skip = false;
  for (const line of expected) {
    if (line.trim() === "…") {
      skip = true;
      continue;
    }
    const fragments = line.split("…");
    const matches = (candidate: string) => {
      if (!candidate.startsWith(fragments[0]) || !candidate.endsWith(fragments.at(-1) ?? "")) return false;
      let from = fragments[0].length;
      for (const fragment of fragments.slice(1, -1)) {
        const found = candidate.indexOf(fragment, from);
        if (found < 0) return false;
        from = found + fragment.length;
      }
      return from <= candidate.length - (fragments.length > 1 ? (fragments.at(-1) ?? "").length : 0);
    };
    const found = skip
      ? actual.findIndex((candidate, index) => index >= at && matches(candidate))
      : matches(actual[at] ?? "\u0000")
        ? at
        : -1;
    if (found < 0) return line;
    at = found + 1;
    skip = false;
  }
  return undefined;
}

/** The text before an unquoted `#` that starts a word. */
function stripComment(text: string): string {
  let quote: string | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === "#" && (index === 0 || /\s/.test(text[index - 1]))) {
      return text.slice(0, index).trim();
    }
  }
  return text.trim();
}

/** Words as a POSIX shell splits them (quotes removed), and the pipeline's stages. */
function shellWords(text: string): string[][] {
  if (/`|\$\(|;|&&|\|\|/.test(text))
    throw new Error(`${text}: command substitution or a command list is not checked here`);
  const stages: string[][] = [[]];
  let word: string | undefined;
  let quote: string | undefined;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = undefined;
      else word = (word ?? "") + char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word = word ?? "";
    } else if (/\s/.test(char) || char === "|") {
      if (word !== undefined) stages[stages.length - 1].push(word);
      word = undefined;
      if (char === "|") stages.push([]);
    } else {
      word = (word ?? "") + char;
    }
  }
  if (quote) throw new Error(`${text}: unterminated quote`);
  if (word !== undefined) stages[stages.length - 1].push(word);
  return stages;
}

/** The flags of a word list: `--name` and `-x`, with `--name=value` cut at the `=`. */
function flagsOf(words: string[]): string[] {
  return words.filter((word) => /^--?[A-Za-z]/.test(word)).map((word) => word.split("=")[0]);
}

/** Why a `pulumi …` command is not one the CLI has, or undefined. */
function pulumiProblem(argv: string[]): string | undefined {
  const words = argv.slice(1);
  const positional = words.filter((word) => !word.startsWith("-"));
  const subcommand = [2, 1]
    .map((length) => positional.slice(0, length).join(" "))
    .find((candidate) => candidate in PULUMI_COMMANDS && words.join(" ").startsWith(candidate));
  if (subcommand === undefined)
    return `pulumi ${positional.slice(0, 2).join(" ")}: not a subcommand this project's documents may use (see PULUMI_COMMANDS)`;
  const allowed = new Set([...PULUMI_COMMANDS[subcommand], ...PULUMI_GLOBAL_FLAGS]);
  const unknown = flagsOf(words).filter((flag) => !allowed.has(flag));
  return unknown.length > 0 ? `pulumi ${subcommand}: no flag ${unknown.join(", ")}` : undefined;
}

/** The options a tool's --help lists. */
function helpFlags(help: string): Set<string> {
  return new Set([...help.matchAll(/(?:^|[\s,])(--?[A-Za-z][A-Za-z-]*)/g)].map((match) => match[1]));
}

type ToolMain = (argv: string[], env: NodeJS.ProcessEnv, io: ToolIo) => Promise<number>;

async function inProcessHelp(main: ToolMain): Promise<string> {
  let out = "";
  const code = await main(["--help"], process.env, {
    out: (text) => (out += text),
    err: () => undefined,
    stdinIsTTY: false,
  });
  assert.equal(code, 0);
  return out;
}

/** Every tool's --help, from the tool itself. */
async function toolHelp(): Promise<Record<string, Set<string>>> {
  return {
    plan: helpFlags(await inProcessHelp(plan)),
    release: helpFlags(await inProcessHelp(release)),
    rollback: helpFlags(await inProcessHelp(rollback)),
    stats: helpFlags(await inProcessHelp(stats)),
    secret: helpFlags(await inProcessHelp(secret)),
    "gen:config": helpFlags(await inProcessHelp((argv, _env, io) => genConfig(argv, io))),
  };
}

/** Why `<step> [options]` is not a command line of the ops CLI, or undefined. */
function opsProblem(args: string[]): string | undefined {
  const step = COMMANDS.find((candidate) => candidate.name === args[0]);
  if (step === undefined)
    return `greenlight-ops ${args[0] ?? ""}: no such step (${COMMANDS.map((known) => known.name).join(", ")})`;
  const options = step
    .options(new Command(step.name))
    .options.flatMap((option) => [option.long, option.short]);
  const known = new Set([...options.filter((flag): flag is string => flag !== undefined), "-h", "--help"]);
  const unknown = flagsOf(args.slice(1)).filter((flag) => !known.has(flag));
  return unknown.length > 0 ? `greenlight-ops ${step.name}: no option ${unknown.join(", ")}` : undefined;
}

/** What the test does with one command: run it here, or check it (the result is the problem, if any). */
type Handling = { run: string[]; mayFail?: boolean } | { checked: string | undefined };

const LOCAL_SERVICES_ARGS = [[], ["--check"], ["--stop"]];

/** Decides how a command is exercised. */
function handle(text: string, help: Record<string, Set<string>>, scripts: Set<string>): Handling {
  const stages = shellWords(text);
  const argv = stages[0];
  if (stages.length > 1) {
    const allowed = text === "curl -fsSL https://get.pulumi.com | sh";
    return {
      checked: allowed ? undefined : `${text}: the only pipe a tested block may use is the Pulumi installer`,
    };
  }
  const [first, ...args] = argv;
  const program = first.replace(/^\.\//, "");
  if (program === "pulumi") return { checked: pulumiProblem(argv) };
  if (program === "node" && args[0] === "bin/greenlight-ops.js")
    return { checked: opsProblem(args.slice(1)) };
  if (program === "npx" && args[0] === "ts-node") {
    const file = args.slice(1).find((arg) => !arg.startsWith("-")) ?? "";
    return {
      checked: fs.existsSync(path.join(ROOT, file)) ? undefined : `${text}: ${file} is not in the repository`,
    };
  }
  if (program === "export") {
    return {
      checked:
        args.length === 1 && /^[A-Z_][A-Z0-9_]*=/.test(args[0])
          ? undefined
          : `${text}: expected export NAME=value`,
    };
  }
  if (program === "source" || program === "." || program.startsWith("scripts/")) {
    const script = program.startsWith("scripts/") ? program : args[0];
    if (!fs.existsSync(path.join(ROOT, script ?? "")))
      return { checked: `${text}: ${script} is not in the repository` };
    if (script === "scripts/local-services.sh") {
      const rest = program === script ? args : args.slice(1);
      if (!LOCAL_SERVICES_ARGS.some((known) => known.join(" ") === rest.join(" "))) {
        return { checked: `${text}: local-services.sh takes nothing, --check or --stop` };
      }
      if (rest[0] === "--check") return { run: ["bash", script, "--check"], mayFail: true };
    }
    return { checked: undefined };
  }
  if (program === "ssh") {
    const options = args.filter((arg) => arg.startsWith("-"));
    const unknown = options.filter((flag) => !SSH_FLAGS.has(flag));
    const batch = args.some((arg, index) => args[index - 1] === "-o" && arg === "BatchMode=yes");
    return {
      checked:
        unknown.length > 0
          ? `${text}: ssh flag ${unknown.join(", ")} is not one a tested block may use`
          : batch
            ? undefined
            : `${text}: a tested ssh check runs with -o BatchMode=yes (never waits for a password)`,
    };
  }
  if (program === "curl") {
    const url = args.find((arg) => !arg.startsWith("-")) ?? "";
    return {
      checked: /^http:\/\/127\.0\.0\.1:\d+\//.test(url)
        ? undefined
        : `${text}: curl only the local app in a tested block`,
    };
  }
  if (program === "npm" && args[0] === "ci") {
    const known = ["ci", "ci --prefix policies"].includes(args.join(" "));
    return { checked: known ? undefined : `${text}: expected npm ci or npm ci --prefix policies` };
  }
  if (program === "npm" && args[0] === "run") {
    const script = args[1];
    if (!scripts.has(script)) return { checked: `${text}: no npm script ${script} in package.json` };
    const toolArgs = args[2] === "--" ? args.slice(3) : args.slice(2);
    if (script === "ops") return { checked: opsProblem(toolArgs) };
    const known = help[script];
    // Scripts without options of their own (test, lint, typecheck, build, bench <suite>): that they exist.
    if (known === undefined) {
      const plain = ["test", "lint", "typecheck", "build", "format", "bench"].includes(script);
      return {
        checked: plain ? undefined : `${text}: npm run ${script} is not a tool the documents may show`,
      };
    }
    const unknown = flagsOf(toolArgs).filter((flag) => !known.has(flag));
    if (unknown.length > 0)
      return { checked: `${text}: npm run ${script} has no option ${unknown.join(", ")}` };
    const offline =
      script === "plan" ||
      toolArgs.includes("--help") ||
      (script === "release" && toolArgs.includes("--dry-run")) ||
      (script === "gen:config" && toolArgs.includes("--check")) ||
      (["rollback", "stats"].includes(script) &&
        toolArgs.includes("--history-file") &&
        !toolArgs.includes("--yes"));
    return offline ? { run: ["npm", "run", "--silent", script, "--", ...toolArgs] } : { checked: undefined };
  }
  return {
    checked: `${text}: a command the documents' test does not know; run it here or check it in tests/docs.test.ts`,
  };
}

/** The files a documented command must never change, with their hashes. */
function guardedFiles(): Record<string, string> {
  const files = [
    ...fs.readdirSync(ROOT).filter((file) => /^Pulumi(\..+)?\.yaml$/.test(file) || file.endsWith(".md")),
    ...fs.readdirSync(path.join(ROOT, "docs")).map((file) => `docs/${file}`),
    ...fs.readdirSync(path.join(ROOT, "policies", "config")).map((file) => `policies/config/${file}`),
  ];
  return Object.fromEntries(
    files.map((file) => [
      file,
      crypto
        .createHash("sha256")
        .update(fs.readFileSync(path.join(ROOT, file)))
        .digest("hex"),
    ]),
  );
}

/** GitHub's anchor of a heading. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

describe("the documents", function () {
  this.timeout(600_000);
  const scripts = new Set(
    Object.keys(
      (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: object }).scripts,
    ),
  );
  let help: Record<string, Set<string>>;

  before(async () => {
    help = await toolHelp();
  });

  it("the checks can fail: a misspelt subcommand, flag or tool option is refused", () => {
    assert.match(
      pulumiProblem(["pulumi", "up", "--policy-pak", "policies"]) ?? "",
      /pulumi up: no flag --policy-pak/,
    );
    assert.match(pulumiProblem(["pulumi", "stack", "selct", "local"]) ?? "", /not a subcommand/);
    assert.equal(pulumiProblem(["pulumi", "stack", "select", "--create", "local"]), undefined);
    assert.equal(
      pulumiProblem(["pulumi", "up", "--stack", "local", "--policy-pack-config=policies/config/local.json"]),
      undefined,
    );
    const release = handle(
      "npm run release -- --stack local --release r1 --image x:1 --dryrun",
      help,
      scripts,
    );
    assert.deepEqual(release, {
      checked:
        "npm run release -- --stack local --release r1 --image x:1 --dryrun: npm run release has no option --dryrun",
    });
    assert.match(
      String((handle("npm run relase -- --help", help, scripts) as { checked: string }).checked),
      /no npm script relase/,
    );
    assert.match(
      String((handle("rm -rf node_modules", help, scripts) as { checked: string }).checked),
      /a command the documents' test does not know/,
    );
    const checked = (text: string) => (handle(text, help, scripts) as { checked?: string }).checked;
    assert.equal(
      checked("node bin/greenlight-ops.js switch --color blue --release v1 --state-dir /tmp/s"),
      undefined,
    );
    assert.match(
      checked("node bin/greenlight-ops.js switch --colour blue") ?? "",
      /greenlight-ops switch: no option --colour/,
    );
    assert.match(checked("npm run ops -- swtich --help") ?? "", /greenlight-ops swtich: no such step/);
    assert.equal(checked("./scripts/test.sh"), undefined);
    assert.match(checked("./scripts/tset.sh") ?? "", /scripts\/tset\.sh is not in the repository/);
    assert.deepEqual(
      handle("npm run release -- --stack local --release r1 --image x:1 --dry-run", help, scripts),
      {
        run: [
          "npm",
          "run",
          "--silent",
          "release",
          "--",
          "--stack",
          "local",
          "--release",
          "r1",
          "--image",
          "x:1",
          "--dry-run",
        ],
      },
    );
    assert.deepEqual(
      testedCommands(
        "x.md",
        "```sh\nnot tested\n```\n```sh test\nnpm run plan -- \\\n  --stack local   # offline\n\n# a comment\n```\n",
      ),
      [{ file: "x.md", line: 5, text: "npm run plan -- --stack local" }],
    );
  });

  it("docs/first-release.md has tested blocks from the checkout to a rollback", () => {
    const commands = testedCommands(
      "docs/first-release.md",
      fs.readFileSync(path.join(ROOT, "docs", "first-release.md"), "utf8"),
    );
    const texts = commands.map((command) => command.text);
    for (const expected of [
      "npm ci",
      "npm ci --prefix policies",
      "pulumi login --local",
      "export PULUMI_CONFIG_PASSPHRASE=greenlight-local",
      "pulumi stack select --create local",
      "scripts/local-services.sh",
      "pulumi preview --stack local --policy-pack policies --policy-pack-config policies/config/local.json",
    ]) {
      assert.ok(texts.includes(expected), expected);
    }
    const order = [
      "npm ci",
      "pulumi login --local",
      "scripts/local-services.sh",
      "pulumi up --stack local",
      "npm run release",
      "npm run rollback",
    ].map((prefix) => texts.findIndex((text) => text.startsWith(prefix)));
    assert.ok(
      order.every((index, position) => index >= 0 && (position === 0 || index > order[position - 1])),
      order.join(","),
    );
  });

  it("the example-output matcher: lines in order, … for any lines or any text", () => {
    const out = [
      "What runs:",
      "  ▶ record  runs",
      "      detail a",
      "  · images  does not run",
      "Verdict: ok.",
    ];
    assert.equal(missingExampleLine(["What runs:", "  ▶ record  runs", "…", "Verdict: ok."], out), undefined);
    assert.equal(missingExampleLine(["What …:", "…", "  · images  does not …"], out), undefined);
    assert.equal(
      missingExampleLine(["What runs:", "  · images  does not run"], out),
      "  · images  does not run",
    );
    assert.equal(missingExampleLine(["…", "  ▶ images  runs"], out), "  ▶ images  runs");
  });

  for (const file of DOCS) {
    for (const example of exampleOutputs(file, fs.readFileSync(path.join(ROOT, file), "utf8"))) {
      it(`${file}:${example.line}: the example output is what \`${example.command}\` prints on this checkout`, () => {
        const handling = handle(example.command, help, scripts);
        assert.ok("run" in handling, `${example.command}: an example's command must run offline here`);
        const result = spawnSync(handling.run[0], handling.run.slice(1), {
          cwd: ROOT,
          encoding: "utf8",
          timeout: 300_000,
          env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
        });
        const missing = missingExampleLine(example.expected, result.stdout.split("\n"));
        assert.equal(
          missing,
          undefined,
          `${file}:${example.line}: not in the output:\n${result.stdout.slice(-3000)}`,
        );
      });
    }
  }

  for (const file of DOCS) {
    const commands = testedCommands(file, fs.readFileSync(path.join(ROOT, file), "utf8"));
    if (commands.length === 0) continue;
    it(`${file}: every command of its sh test blocks runs here or is a real command (${commands.length})`, () => {
      const before = guardedFiles();
      for (const command of commands) {
        const where = `${command.file}:${command.line}: ${command.text}`;
        const handling = handle(command.text, help, scripts);
        if ("checked" in handling) {
          assert.equal(handling.checked, undefined, where);
          continue;
        }
        const result = spawnSync(handling.run[0], handling.run.slice(1), {
          cwd: ROOT,
          encoding: "utf8",
          timeout: 300_000,
          env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
        });
        if (handling.mayFail) {
          // A check reports: 0 when everything is up, 1 when something is down; one line per service either way.
          assert.ok(result.status === 0 || result.status === 1, `${where}\n${result.stderr}`);
          const services = result.stdout.split("\n").map((line) => line.split(/\s+/)[0]);
          for (const service of ["postgresql", "s3", "docker", "images", "tools"])
            assert.ok(services.includes(service), `${where}: ${service}`);
          assert.equal(
            result.status === 0,
            !/^\S+\s+down\s/m.test(result.stdout),
            `${where}\n${result.stdout}`,
          );
        } else {
          assert.equal(
            result.status,
            0,
            `${where}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`,
          );
        }
      }
      assert.deepEqual(guardedFiles(), before, `${file}: a documented command changed a file`);
    });
  }

  it("every link in README.md, RUNBOOK.md and docs/ resolves to a file (and heading) of the repository", () => {
    const problems: string[] = [];
    for (const file of DOCS) {
      const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/^```[\s\S]*?^```/gm, "");
      for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = match[1];
        if (/^[a-z]+:/i.test(target)) continue;
        const [relative, anchor] = target.split("#");
        const resolved =
          relative === ""
            ? path.join(ROOT, file)
            : path.resolve(path.dirname(path.join(ROOT, file)), relative);
        if (!resolved.startsWith(ROOT + path.sep) || !fs.existsSync(resolved)) {
          problems.push(`${file}: ${target} is not a file of the repository`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith(".md")) {
          const headings = [...fs.readFileSync(resolved, "utf8").matchAll(/^#+\s+(.*)$/gm)].map((heading) =>
            anchorOf(heading[1]),
          );
          if (!headings.includes(anchor))
            problems.push(`${file}: ${target} names no heading of ${path.relative(ROOT, resolved)}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("RUNBOOK.md's exit-code table is the one every tool uses (contract/exit-codes.ts)", () => {
    const runbook = fs.readFileSync(path.join(ROOT, "RUNBOOK.md"), "utf8");
    const table = /<!-- exit-codes:start -->\n([\s\S]*?)<!-- exit-codes:end -->/.exec(runbook)?.[1] ?? "";
    const rows = table
      .split("\n")
      .filter((line) => /^\| \d+ \|/.test(line))
      .map((line) => line.split("|").map((cell) => cell.trim()));
    assert.deepEqual(
      rows.map((cells) => [Number(cells[1]), cells[2]]),
      EXIT_TABLE.map((row) => [row.code, row.meaning]),
    );
  });

  it("RUNBOOK.md and docs/ name no file outside the repository and cite the runbooks in words", () => {
    for (const file of DOCS.filter((name) => name !== "README.md")) {
      const text = fs.readFileSync(path.join(ROOT, file), "utf8");
      assert.doesNotMatch(text, /\.\.\/shared|DESIGN\.md|seeds\//, file);
      assert.doesNotMatch(text, /\bseed\s*\d/i, file);
    }
  });
});
