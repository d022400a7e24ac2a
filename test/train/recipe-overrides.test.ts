/**
 * Recipes: `--set` overrides validated by the schema, `data.train` as a list of files, whole epochs,
 * "did you mean" for unknown fields, line numbers, and errors that name the recipe field or the
 * user's own record file (never a temporary job folder).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openCompiled } from "../../src/compile/read-compiled.ts";
import { prepareJob } from "../../src/train/prepare.ts";
import { loadRecipe, trainFiles } from "../../src/train/recipe.ts";
import { InputError, KieloError } from "../../src/util/errors.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tiny = join(root, "recipes/tiny-sft.yaml");
const sftRows = readFileSync(join(root, "examples/tiny-train/sft-fi.jsonl"), "utf8").trim().split("\n");

function recipeWith(dir: string, text: string): string {
  const path = join(dir, "recipe.yaml");
  writeFileSync(path, text);
  return path;
}

const base = (model: string, train: string) =>
  `method: sft\nmodel: ${model}\ndtype: fp32\ndata:\n  train: ${train}\n  template: llama-2\n  max_length: 128\nadapter:\n  type: lora\n  r: 4\ntraining:\n  epochs: 1\n  lr: 1.0e-3\n`;

test("--set overrides values, is repeatable, and is validated like the file", async () => {
  const recipe = await loadRecipe(tiny, ["training.lr=1e-4", "data.max_length=64", "training.lr=5e-5", "adapter.target_modules=[q_proj,v_proj]"]);
  assert.equal(recipe.training.lr, 5e-5);
  assert.equal(recipe.data.max_length, 64);
  assert.deepEqual(recipe.adapter.target_modules, ["q_proj", "v_proj"]);
  await assert.rejects(loadRecipe(tiny, ["training.lr=fast"]), /--set training\.lr=fast: training\.lr: Invalid input: expected number, received string/);
  await assert.rejects(loadRecipe(tiny, ["training.lrr=1e-4"]), /--set training\.lrr=1e-4: training\.lrr: unknown field \(did you mean "lr"\?\)/);
  await assert.rejects(loadRecipe(tiny, ["training"]), /--set training: expected field\.path=value/);
  await assert.rejects(loadRecipe(tiny, ["method.x=1"]), /--set method\.x=1: method is not a section of the recipe/);
});

test("unknown fields get a did-you-mean and a line; fractional epochs are refused by the schema", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-recipe-"));
  const path = recipeWith(dir, `${base("m", "t.jsonl")}  epoch: 2\n  warmup_ration: 0.1\n`);
  await assert.rejects(loadRecipe(path), (error: unknown) => {
    const message = (error as Error).message;
    return (
      message.includes(`${path}:14: training.epoch: unknown field (did you mean "epochs"?)`) &&
      message.includes(`${path}:15: training.warmup_ration: unknown field (did you mean "warmup_ratio"?)`)
    );
  });
  await assert.rejects(loadRecipe(tiny, ["training.epochs=1.5"]), /training\.epochs: must be a whole number of epochs/);
});

test("data.train as a list: both files compiled in order; rows name their file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-recipe-"));
  writeFileSync(join(dir, "a.jsonl"), `${sftRows.slice(0, 3).join("\n")}\n`);
  writeFileSync(join(dir, "b.jsonl"), `${sftRows.slice(3, 5).join("\n")}\n`);
  const model = join(root, "fixtures/models/stories260K/hf");
  const path = recipeWith(dir, base(model, "[a.jsonl, b.jsonl]"));
  const recipe = await loadRecipe(path);
  assert.deepEqual(trainFiles(recipe), [join(dir, "a.jsonl"), join(dir, "b.jsonl")]);
  const jobDir = join(dir, "job");
  await prepareJob({ recipe, recipePath: path, jobDir, gpus: 1, force: false, kieloVersion: "test" });
  const rows = openCompiled(join(jobDir, "data/train")).rows();
  assert.deepEqual(rows.map((r) => [r.file, r.source]), [[join(dir, "a.jsonl"), 1], [join(dir, "a.jsonl"), 2], [join(dir, "a.jsonl"), 3], [join(dir, "b.jsonl"), 1], [join(dir, "b.jsonl"), 2]]);
});

test("a missing model folder is named as the recipe's model, not as a tokenizer", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-recipe-"));
  writeFileSync(join(dir, "a.jsonl"), `${sftRows[0]}\n`);
  const path = recipeWith(dir, base("no-such-model", "a.jsonl"));
  await assert.rejects(
    prepareJob({ recipe: await loadRecipe(path), recipePath: path, jobDir: join(dir, "job"), gpus: 1, force: false, kieloVersion: "test" }),
    (error: unknown) => error instanceof KieloError && error.message === `${path}: model: ${join(dir, "no-such-model")} does not exist` && /local Hugging Face model folder/.test(error.hint ?? ""),
  );
  const missing = recipeWith(dir, base(join(root, "fixtures/models/stories260K/hf"), "[a.jsonl, nope.jsonl]"));
  await assert.rejects(
    prepareJob({ recipe: await loadRecipe(missing), recipePath: missing, jobDir: join(dir, "job2"), gpus: 1, force: false, kieloVersion: "test" }),
    new RegExp(`data\\.train\\[1\\]: ${join(dir, "nope.jsonl").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} does not exist`),
  );
});

test("a record error while preparing a job (eval split) names the user's file and line, not the job folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-recipe-"));
  writeFileSync(join(dir, "a.jsonl"), `${sftRows.slice(0, 8).join("\n")}\n`);
  writeFileSync(join(dir, "bad.jinja"), "{% if messages | length > 0 %}{{ raise_exception('boom') }}{% endif %}");
  const path = recipeWith(dir, `${base(join(root, "fixtures/models/stories260K/hf"), "a.jsonl").replace("template: llama-2", "template: file:bad.jinja\n  eval_fraction: 0.25")}`);
  const jobDir = join(dir, "job");
  await assert.rejects(
    prepareJob({ recipe: await loadRecipe(path), recipePath: path, jobDir, gpus: 1, force: false, kieloVersion: "test" }),
    (error: unknown) =>
      error instanceof InputError && error.location.file === join(dir, "a.jsonl") && typeof error.location.line === "number" && error.location.line >= 1 && /boom/.test(error.message) && !error.message.includes(".tmp-"),
  );
  assert.deepEqual(readdirSync(dirname(jobDir)).filter((name) => name.startsWith(".job")), [], "no temporary job folder left");
});
