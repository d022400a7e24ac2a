import assert from "node:assert/strict";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildJobSpec, batchLayout, dpoReference } from "../../src/train/job.ts";
import { loadRecipe, parseRecipe } from "../../src/train/recipe.ts";

const recipesDir = new URL("../../recipes/", import.meta.url).pathname;

test("every shipped recipe is valid", async () => {
  const files = (await readdir(recipesDir)).filter((name) => name.endsWith(".yaml"));
  assert.ok(files.length >= 3);
  for (const name of files) await loadRecipe(join(recipesDir, name));
});

test("the notebook preset carries the notebook's hyper-parameters", async () => {
  const recipe = await loadRecipe(join(recipesDir, "sft-qlora-notebook.yaml"));
  assert.equal(recipe.adapter.type, "qlora");
  assert.deepEqual(
    [recipe.adapter.r, recipe.adapter.alpha, recipe.adapter.dropout],
    [16, 32, 0.05],
  );
  const t = recipe.training;
  assert.deepEqual(
    [t.lr, t.epochs, t.micro_batch_size, t.max_grad_norm, t.weight_decay, t.schedule, t.warmup_ratio],
    [5e-4, 5, 1, 0.3, 0.001, "cosine", 0.03],
  );
  assert.equal(recipe.data.group_by_length, true);
  assert.equal(t.save_every_steps, 10);
  assert.equal(t.log_every_steps, 1);
});

test("the paper presets: full SFT and DPO with β 0.05", async () => {
  const sft = await loadRecipe(join(recipesDir, "sft-full-paper.yaml"));
  assert.deepEqual([sft.adapter.type, sft.training.lr, sft.training.warmup_ratio, sft.training.epochs, sft.training.global_batch_size], ["none", 2e-5, 0.1, 3, 128]);
  const dpo = await loadRecipe(join(recipesDir, "dpo-paper.yaml"));
  assert.deepEqual([dpo.training.lr, dpo.training.warmup_ratio, dpo.training.epochs, dpo.training.global_batch_size, dpo.dpo?.beta], [5e-7, 0.1, 5, 64, 0.05]);
  // Full fine-tuning: reference log-probs are precomputed instead of keeping a second model.
  assert.equal(dpoReference(dpo), "precomputed");
});

test("errors name the recipe file and every bad field", () => {
  assert.throws(
    () => parseRecipe({ method: "sft", model: "m", data: { train: "t", policy: "prompt" }, training: { lr: -1 } }, "r.yaml"),
    (error: Error) =>
      error.message.startsWith("r.yaml: invalid recipe") && /data\.policy/.test(error.message) && /training\.lr/.test(error.message),
  );
  assert.throws(
    () => parseRecipe({ method: "sft", model: "m", data: { train: "t" }, training: { lr: 1e-4, learning_rate: 1 } }, "r.yaml"),
    /training\.learning_rate: unknown field/,
  );
});

test("fp16 full fine-tuning is refused before any work (no loss scaling in the engine)", () => {
  assert.throws(
    () => parseRecipe({ method: "sft", model: "m", dtype: "fp16", data: { train: "t" }, training: { lr: 1e-4 } }, "r.yaml"),
    /r\.yaml: dtype: fp16 full fine-tuning/,
  );
  parseRecipe({ method: "sft", model: "m", dtype: "fp16", adapter: { type: "lora" }, data: { train: "t" }, training: { lr: 1e-4 } }, "r.yaml");
});

test("invalid YAML names the line", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kielo-recipe-"));
  const path = join(dir, "bad.yaml");
  await writeFile(path, "method: sft\nmodel: [unclosed\n");
  await assert.rejects(loadRecipe(path), new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+: invalid YAML`));
});

test("relative paths resolve against the recipe's folder", () => {
  const recipe = parseRecipe(
    { method: "dpo", model: "../m", init_adapter: "a", data: { train: "d.jsonl", template: "file:t.jinja" }, training: { lr: 1e-6 } },
    "/work/x/recipe.yaml",
  );
  assert.equal(recipe.model, "/work/m");
  assert.equal(recipe.init_adapter, "/work/x/a");
  assert.equal(recipe.data.train, "/work/x/d.jsonl");
  assert.equal(recipe.data.template, "file:/work/x/t.jinja");
  // DPO continuing an SFT adapter: the reference is the SFT policy (precomputed), not the base model.
  assert.equal(dpoReference(recipe), "precomputed");
});

test("global batch → micro-batches per step, refusing batches that do not split over GPUs", () => {
  const recipe = parseRecipe(
    { method: "sft", model: "m", data: { train: "t" }, training: { lr: 1e-4, micro_batch_size: 4, global_batch_size: 128 } },
    "/r.yaml",
  );
  assert.deepEqual(batchLayout(recipe, 1), { microBatchesPerStep: 32, globalBatch: 128 });
  assert.deepEqual(batchLayout(recipe, 2), { microBatchesPerStep: 32, globalBatch: 128 });
  assert.throws(() => batchLayout(recipe, 3), /not a multiple of micro_batch_size 4 × 3 GPU/);
  const spec = buildJobSpec({
    recipe,
    recipePath: "/r.yaml",
    jobDir: "/job",
    steps: 10,
    microBatchesPerStep: 32,
    hasEval: true,
    trainSha256: "x",
    evalSha256: null,
    kieloVersion: "0",
  });
  assert.equal(spec.output.dir, "/job/model");
  assert.equal(spec.output.save, "full");
  assert.deepEqual(spec.eval, { every_steps: 1 });
  assert.equal(spec.dpo, null);
});

test("micro-batches by token budget: a varying count per step, and a global batch is required", () => {
  const recipe = parseRecipe(
    { method: "sft", model: "m", data: { train: "t" }, training: { lr: 1e-4, micro_batch_tokens: 16384, global_batch_size: 64 } },
    "/r.yaml",
  );
  assert.deepEqual(batchLayout(recipe, 2), { microBatchesPerStep: 0, globalBatch: 64 });
  assert.equal(recipe.training.gradient_checkpointing, "auto");
  assert.throws(
    () => parseRecipe({ method: "sft", model: "m", data: { train: "t" }, training: { lr: 1e-4, micro_batch_tokens: 4096 } }, "/r.yaml"),
    /micro_batch_tokens needs training.global_batch_size/,
  );
});
