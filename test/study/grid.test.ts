/**
 * `kielo study` end to end on the tiny model: a 2 × 2 grid runs and reports; the same study
 * SIGKILLed in the middle and run again finishes without redoing finished steps and reports the
 * same numbers; a changed β re-runs exactly that DPO step and its evaluation.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { csvValues, doneSteps, finish, gridStudy, kielo, start, tempDir, writeStudy } from "./helpers.ts";

const STEPS = 20; // convert, 2 mixes, 2 SFT, 2 × (gen, eval, held-out loss), select, 2 DPO, 2 × (gen, eval, held-out loss)

async function runGrid(dir: string, file: string) {
  const env = { KIELO_DB: join(dir, "kielo.db") };
  const result = await kielo(["study", "run", file, "--work-dir", join(dir, "work")], { cwd: dir, env });
  assert.equal(result.code, 0, result.stderr + result.stdout);
  return result;
}

async function report(dir: string, file: string) {
  const result = await kielo(["study", "report", file, "--work-dir", join(dir, "work")], { cwd: dir, env: { KIELO_DB: join(dir, "kielo.db") } });
  assert.equal(result.code, 0, result.stderr);
  return join(dir, "work", "report");
}

test("a 2 × 2 grid runs end to end; killed and re-run it gives the same report; a changed β re-runs only its steps", { timeout: 600_000 }, async () => {
  const a = tempDir("study-a");
  const b = tempDir("study-b");
  const fileA = writeStudy(a, gridStudy());
  const fileB = writeStudy(b, gridStudy());

  // B is SIGKILLed once its first SFT run is done (the other is then training or about to), while A runs whole.
  const envB = { KIELO_DB: join(b, "kielo.db") };
  const killed = start(["study", "run", fileB, "--work-dir", join(b, "work")], { cwd: b, env: envB });
  const killedDone = finish(killed);
  const [resultA] = await Promise.all([
    runGrid(a, fileA),
    (async () => {
      while (![...doneSteps(join(b, "work")).keys()].some((id) => id.startsWith("train/sft-"))) {
        if (killed.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      killed.kill("SIGKILL");
      await killedDone;
    })(),
  ]);
  assert.match(resultA.stdout, new RegExp(`${STEPS} steps run, 0 already done, 0 failed`));
  assert.match(resultA.stderr, /ETA/);

  const reportA = await report(a, fileA);
  for (const name of ["report.md", "report.html", "mixes.csv", "sft.csv", "dpo.csv", "ifeval-categories-en.svg", "loss-sft.svg", "loss-dpo.svg"]) {
    assert.ok(existsSync(join(reportA, name)), name);
  }
  const md = readFileSync(join(reportA, "report.md"), "utf8");
  assert.doesNotMatch(md, /not done/);
  assert.doesNotMatch(md, /\| n\/a/, "every model, DPO too, has its held-out loss");
  assert.match(md, /\| sft-en-fi-50pct-default \| 0\.5 \| 0\.\d+ \(\[run \d+\]\(#run-\d+\)\) \| \d\.\d+ \(\[run \d+\]/);
  const html = readFileSync(join(reportA, "report.html"), "utf8");
  assert.match(html, /<svg[^>]*>.*<rect/s);
  for (const id of html.matchAll(/href="#run-(\d+)"/g)) assert.match(html, new RegExp(`<tr id="run-${id[1]}">`));

  // The killed study: what was done stays done, the rest runs (a killed training resumes), same numbers.
  const before = doneSteps(join(b, "work"));
  assert.ok(before.size > 0 && before.size < STEPS, `killed after ${before.size} steps`);
  const partial = await report(b, fileB);
  assert.match(readFileSync(join(partial, "report.md"), "utf8"), /not done/);
  const rerun = await runGrid(b, fileB);
  assert.match(rerun.stdout, new RegExp(`${STEPS - before.size} steps run, ${before.size} already done, 0 failed`));
  const after = doneSteps(join(b, "work"));
  for (const [id, finished] of before) assert.equal(after.get(id), finished, `${id} was not redone`);
  const reportB = await report(b, fileB);
  for (const name of ["mixes.csv", "sft.csv", "dpo.csv"]) assert.deepEqual(csvValues(reportB, name), csvValues(reportA, name), name);

  // β 0.1 → 0.2 in A: exactly that DPO run and its generation and evaluations run again.
  const doneA = doneSteps(join(a, "work"));
  const plan = await kielo(["study", "plan", writeStudy(a, gridStudy([0.05, 0.2])), "--work-dir", join(a, "work")], { cwd: a, env: { KIELO_DB: join(a, "kielo.db") } });
  assert.match(plan.stdout, /· train\/dpo-en-b0\.2 \w+ waiting/);
  assert.match(plan.stdout, /✓ train\/dpo-en-b0\.05 \w+ done/);
  const changed = await runGrid(a, fileA);
  assert.match(changed.stdout, new RegExp(`4 steps run, ${STEPS - 4} already done`));
  const doneA2 = doneSteps(join(a, "work"));
  const rerunIds = [...doneA2].filter(([id, at]) => doneA.get(id) !== at).map(([id]) => id).sort();
  assert.deepEqual(rerunIds, ["eval/dpo-en-b0.2/heldout", "eval/dpo-en-b0.2/ifeval-en", "gen/dpo-en-b0.2/ifeval-en", "train/dpo-en-b0.2"]);
});
