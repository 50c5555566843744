// The data bench's restore half: the restore drill against downloading the dump and `pg_restore` with
// the same jobs, in the bench's own process and by hand (aws s3 cp, psql, pg_restore); then the drill
// as the program runs it before a migration rehearsal, and the rehearsal of a migration-free release.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pgBinary } from "../ops/lib/postgres";
import { downloadObject } from "../ops/lib/s3";
import { childExit } from "../ops/lib/stream";
import { BUCKET, DataBench, Measured, lastReport, measure, median, ratio, seconds } from "./data-support";
import { BenchResult } from "./result";

/** The phase timings a restore drill reports in its JSON. */
type DrillPhases = { download: number; restore: number; compare: number; total: number };
/** The timings a rehearsal reports: getting the copy, dropping it, all of it. */
type RehearsalSeconds = { copy: number; drop: number; total: number; container: number };

/**
 * The restore drill against downloading `dumpKey` and `pg_restore` (in this process, and by hand with
 * the awscli and psql), `rounds` times in alternating order; then the drill as the program runs it,
 * handing its copy to the rehearsal of a migration-free release (`image`), which drops it.
 */
export async function restoreRounds(
  bench: DataBench,
  release: string,
  dumpKey: string,
  image: string,
): Promise<{ results: BenchResult[]; drills: Measured[] }> {
  const { env, pg, work, jobs, rounds, aws, s3 } = bench;
  const pgRestore = pgBinary("pg_restore", env);
  const rawRestore = async (round: number) => {
    const file = path.join(work, "raw.dump");
    const database = `raw_restore_${round}`;
    const started = process.hrtime.bigint();
    await downloadObject(bench.client, BUCKET, dumpKey, file);
    await pg.query(`CREATE DATABASE ${database} TEMPLATE template0`);
    const restore = spawn(
      pgRestore,
      ["--no-password", `--jobs=${jobs}`, "--no-owner", "--no-acl", `--dbname=${database}`, file],
      { env, stdio: ["ignore", "ignore", "pipe"] },
    );
    if ((await childExit(restore)).code !== 0) throw new Error("raw pg_restore failed");
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    await pg.query(`DROP DATABASE ${database}`);
    fs.rmSync(file, { force: true });
    return elapsed;
  };
  /** The same by hand in processes of their own: aws s3 cp, CREATE DATABASE with psql, pg_restore. */
  const psql = pgBinary("psql", env);
  const rawCliRestore = async (round: number) => {
    const file = path.join(work, "raw-cli.dump");
    const database = `raw_cli_restore_${round}`;
    const result = await measure(
      "bash",
      [
        "-e",
        "-c",
        `"${aws}" --endpoint-url "${s3.endpoint}" --only-show-errors s3 cp "s3://${BUCKET}/${dumpKey}" "${file}"
         "${psql}" --no-password --quiet -d postgres -c "CREATE DATABASE ${database} TEMPLATE template0"
         "${pgRestore}" --no-password --jobs=${jobs} --no-owner --no-acl --dbname=${database} "${file}"`,
      ],
      env,
    );
    await pg.query(`DROP DATABASE ${database}`);
    fs.rmSync(file, { force: true });
    return result;
  };
  const drillArgs = ["--drill", `--jobs=${jobs}`, "--progress-seconds", "0"];
  const rawRestores: number[] = [];
  const rawCliRestores: Measured[] = [];
  const drills: Measured[] = [];
  const handOvers: Measured[] = [];
  const rehearsals: Measured[] = [];
  const rehearsalSeconds: RehearsalSeconds[] = [];
  const phases: DrillPhases[] = [];
  const handOverPhases: DrillPhases[] = [];
  for (let round = 0; round < rounds; round++) {
    const drillFirst = round % 2 === 1;
    if (!drillFirst) rawRestores.push(await rawRestore(round));
    if (!drillFirst) rawCliRestores.push(await rawCliRestore(round));
    const result = await bench.opsStep("restore", release, drillArgs);
    drills.push(result);
    phases.push(lastReport<{ seconds: DrillPhases }>(result.stdout).seconds);
    const handOver = await bench.opsStep("restore", release, [...drillArgs, "--keep-for-rehearsal"]);
    handOvers.push(handOver);
    const kept = lastReport<{ seconds: DrillPhases; keptDatabase: string }>(handOver.stdout);
    handOverPhases.push(kept.seconds);
    const rehearsal = await bench.migratorStep("rehearse", release, image, [
      "--copy",
      kept.keptDatabase,
      "--progress-seconds",
      "0",
    ]);
    rehearsals.push(rehearsal);
    const rehearsed = lastReport<{
      seconds: RehearsalSeconds;
      durationMs: number;
      migration: { outcome: string };
    }>(rehearsal.stdout);
    if (rehearsed.migration.outcome !== "skipped")
      throw new Error(`the migration-free rehearsal ran its migrator (${rehearsed.migration.outcome})`);
    rehearsalSeconds.push({ ...rehearsed.seconds, container: rehearsed.durationMs / 1000 });
    if (drillFirst) rawCliRestores.push(await rawCliRestore(round));
    if (drillFirst) rawRestores.push(await rawRestore(round));
  }

  const drill = seconds(drills);
  const handOver = seconds(handOvers);
  const rehearsal = seconds(rehearsals);
  const rehearsalDrop = median(rehearsalSeconds.map((item) => item.drop));
  const results: BenchResult[] = [
    {
      name: `data: baseline SDK download + pg_restore -j${jobs} (median of ${rounds})`,
      value: median(rawRestores),
      unit: "s",
    },
    {
      name: `data: baseline ${bench.awsVersion} s3 cp, psql CREATE DATABASE, pg_restore -j${jobs}`,
      value: seconds(rawCliRestores),
      unit: "s",
    },
    { name: `data: restore drill -j${jobs} (median of ${rounds})`, value: drill, unit: "s" },
    ratio("data: drill ÷ SDK baseline (in-process download)", drill, median(rawRestores)),
    {
      name: `data:   the same per round (${drills.map((run, round) => (run.seconds / rawRestores[round]).toFixed(2)).join(", ")}), worst`,
      value: Math.max(...drills.map((run, round) => run.seconds / rawRestores[round])),
      unit: "×",
    },
    ratio("data: drill ÷ awscli baseline", drill, seconds(rawCliRestores)),
    {
      name: "data: drill handing its copy to the rehearsal (as the program runs it)",
      value: handOver,
      unit: "s",
    },
    ratio("data: that drill ÷ SDK baseline (in-process download)", handOver, median(rawRestores)),
    ratio("data: that drill ÷ awscli baseline", handOver, seconds(rawCliRestores)),
    {
      name: "data:   that drill's start-up and exit (no drop)",
      value: handOver - median(handOverPhases.map((report) => report.total)),
      unit: "s",
    },
    { name: "data: rehearsal of a migration-free release", value: rehearsal, unit: "s" },
    {
      name: "data:   of which dropping the copy (the drill alone drops it)",
      value: rehearsalDrop,
      unit: "s",
    },
    {
      name: "data:   of which the migrator's container (none: nothing pending)",
      value: median(rehearsalSeconds.map((item) => item.container)),
      unit: "s",
    },
    {
      name: "data:   what the rehearsal adds (rehearsal − its drop)",
      value: rehearsal - rehearsalDrop,
      unit: "s",
      goal: "≤ 1 s",
      ok: rehearsal - rehearsalDrop <= 1,
    },
    { name: "data: drill + rehearsal ÷ the drill alone", value: (handOver + rehearsal) / drill, unit: "×" },
    ...(["download", "restore", "compare"] as const).map((phase) => ({
      name: `data:   drill ${phase} phase (its own report)`,
      value: median(phases.map((report) => report[phase])),
      unit: "s",
    })),
    {
      name: "data:   drill start-up, scratch drop and exit",
      value: drill - median(phases.map((report) => report.total)),
      unit: "s",
    },
  ];
  return { results, drills };
}
