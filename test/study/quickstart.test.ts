/**
 * The README's quickstart, exactly: `kielo study run studies/tiny.yaml`, then
 * `kielo study report studies/tiny.yaml`, from a folder that looks like a checkout (the folders the
 * study file's relative paths reach are links to this repository's), so the default work dir
 * `study-runs/tiny` and kielo.db land in a temporary folder, not in the repository.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { doneSteps, kielo, root, tempDir } from "./helpers.ts";

const STEPS = 46; // the count studies/tiny.yaml's header gives

test("the quickstart study runs, reports, and a second run skips every step", { timeout: 600_000 }, async () => {
  const dir = tempDir("quickstart");
  for (const folder of ["studies", "fixtures", "test", "examples", "recipes"]) symlinkSync(join(root, folder), join(dir, folder));
  // No KIELO_DB: the default kielo.db in the working folder, as in the README.
  delete process.env["KIELO_DB"];
  const env = {};
  const run = await kielo(["study", "run", "studies/tiny.yaml"], { cwd: dir, env });
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, new RegExp(`${STEPS} steps run, 0 already done, 0 failed`));
  const work = join(dir, "study-runs", "tiny");
  assert.equal(doneSteps(work).size, STEPS);
  assert.ok(existsSync(join(dir, "kielo.db")));

  const report = await kielo(["study", "report", "studies/tiny.yaml"], { cwd: dir, env });
  assert.equal(report.code, 0, report.stderr);
  const out = join(work, "report");
  for (const name of ["report.md", "report.html", "mixes.csv", "sft.csv", "dpo.csv", "text-metrics.csv", "ifeval-categories-en.svg", "ifeval-categories-fi.svg", "loss-sft.svg", "loss-dpo.svg"]) {
    assert.ok(existsSync(join(out, name)), name);
  }
  assert.doesNotMatch(readFileSync(join(out, "report.md"), "utf8"), /not done/);

  const again = await kielo(["study", "run", "studies/tiny.yaml"], { cwd: dir, env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`0 steps run, ${STEPS} already done, 0 failed`));
});
