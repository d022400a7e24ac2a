/**
 * The job contract, checked on both sides: every shipped recipe → job.json (src/train/job.ts) → the
 * engine's own parser (engine/kielo_engine/job.py), which must accept it and read back the values
 * TypeScript wrote; and every field TypeScript writes is one the engine reads, or one it is meant
 * to ignore.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { batchLayout, buildJobSpec, type JobSpec } from "../../src/train/job.ts";
import { loadRecipe } from "../../src/train/recipe.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv/bin/python");
/** Fields for people and for the CLI (resume or refuse), not for the engine. */
const NOT_FOR_THE_ENGINE = ["format", "version", "provenance", "micro_batch_size"];

const PARSE = `
import dataclasses, json, sys
sys.path.insert(0, sys.argv[1])
from kielo_engine.job import load_job
out = {}
for job_dir in sys.argv[2:]:
    out[job_dir] = dataclasses.asdict(load_job(job_dir))
print(json.dumps(out))
`;

test("every recipe's job.json is accepted by the engine, which reads back what TypeScript wrote", async () => {
  const recipes = readdirSync(join(root, "recipes")).filter((name) => name.endsWith(".yaml"));
  const dir = mkdtempSync(join(tmpdir(), "kielo-job-contract-"));
  const specs = new Map<string, JobSpec>();
  for (const name of recipes) {
    const recipe = await loadRecipe(join(root, "recipes", name));
    const jobDir = join(dir, name.replace(/\.yaml$/, ""));
    mkdirSync(jobDir);
    const spec = buildJobSpec({
      recipe,
      recipePath: join(root, "recipes", name),
      jobDir,
      steps: 12,
      microBatchesPerStep: batchLayout(recipe, 1).microBatchesPerStep,
      hasEval: recipe.data.eval !== undefined || recipe.data.eval_fraction > 0,
      trainSha256: "0".repeat(64),
      evalSha256: null,
      kieloVersion: "test",
      ...(recipe.init_adapter ? { initAdapter: { r: 8, alpha: 16, dropout: 0, target_modules: "all-linear" as const } } : {}),
    });
    writeFileSync(join(jobDir, "job.json"), JSON.stringify({ ...spec, identity: "x" }));
    specs.set(jobDir, spec);
  }
  const result = spawnSync(python, ["-c", PARSE, join(root, "engine"), ...specs.keys()], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as Record<string, Record<string, unknown>>;

  for (const [jobDir, spec] of specs) {
    const job = parsed[jobDir]!;
    const name = jobDir.split("/").at(-1);
    // What the engine reads equals what TypeScript wrote.
    assert.equal(job["method"], spec.method, name);
    assert.equal(job["seed"], spec.seed, name);
    assert.deepEqual(job["model"], spec.model, name);
    assert.deepEqual(job["optim"], spec.optim, name);
    assert.equal(job["steps"], spec.steps, name);
    assert.equal(job["micro_batches_per_step"], spec.micro_batches_per_step, name);
    assert.equal(job["gradient_checkpointing"], spec.gradient_checkpointing, name);
    assert.equal(job["neftune_alpha"], spec.neftune_alpha, name);
    assert.deepEqual(job["adapter"], spec.adapter, name);
    assert.equal(job["init_adapter"], spec.init_adapter, name);
    assert.deepEqual(job["dpo"], spec.dpo, name);
    assert.deepEqual(job["eval"], spec.eval, name);
    assert.equal(job["save_every_steps"], spec.save_every_steps, name);
    assert.equal(job["keep_checkpoints"], spec.keep_checkpoints, name);
    assert.equal(job["log_every_steps"], spec.log_every_steps, name);
    assert.deepEqual(job["output"], spec.output, name);
    // Every field written is read by the engine, or meant for people and the CLI only.
    const unread = Object.keys(spec).filter((key) => !(key in job) && !NOT_FOR_THE_ENGINE.includes(key));
    assert.deepEqual(unread, [], `${name}: fields the engine never reads`);
  }
});
