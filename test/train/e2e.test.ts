/**
 * End to end on the CPU with the real tiny model: `kielo train sft` (LoRA) → `kielo train dpo` (from
 * the SFT adapter) → `kielo generate` → `kielo merge`, through the real CLI and the real engine, and
 * every output loaded back by transformers/peft. Also: Ctrl-C stops at a checkpoint and the same
 * command resumes; a missing model gives a readable error.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";

const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv", "bin", "python");
const model = join(root, "fixtures", "models", "stories260K", "hf");
const examples = join(root, "examples", "tiny-train");

const workspace = await mkdtemp(join(tmpdir(), "kielo-e2e-"));
const env = { ...process.env, KIELO_DB: join(workspace, "kielo.db") };

function kieloSync(args: string[]) {
  return spawnSync(process.execPath, [kielo, ...args], { cwd: workspace, env, encoding: "utf8" });
}

function recipe(body: Record<string, unknown>): string {
  return JSON.stringify(body, null, 2); // JSON is YAML
}

const sftRecipe = join(workspace, "sft.yaml");
const dpoRecipe = join(workspace, "dpo.yaml");
await writeFile(
  sftRecipe,
  recipe({
    method: "sft",
    model,
    dtype: "fp32",
    data: { train: join(examples, "sft-fi.jsonl"), eval_fraction: 0.125, template: "llama-2", policy: "assistant", max_length: 128 },
    adapter: { type: "lora", r: 4, alpha: 8, dropout: 0 },
    training: { epochs: 1, micro_batch_size: 4, global_batch_size: 8, lr: 2e-3, warmup_ratio: 0.1, save_every_steps: 3, seed: 1 },
    output: join(workspace, "runs", "sft"),
  }),
);
await writeFile(
  dpoRecipe,
  recipe({
    method: "dpo",
    model,
    init_adapter: join(workspace, "runs", "sft", "model"),
    dtype: "fp32",
    data: { train: join(examples, "pairs-en.jsonl"), template: "llama-2", max_length: 128 },
    training: { epochs: 1, micro_batch_size: 4, global_batch_size: 8, lr: 1e-3, save_every_steps: 3, seed: 1 },
    dpo: { beta: 0.1 },
    output: join(workspace, "runs", "dpo"),
  }),
);

function runRow(kind: string): { status: string; id: number } {
  const db = new DatabaseSync(env.KIELO_DB, { readOnly: true });
  try {
    return db.prepare("SELECT id, status FROM runs WHERE kind = ? ORDER BY id DESC LIMIT 1").get(kind) as { status: string; id: number };
  } finally {
    db.close();
  }
}

function metricCount(runId: number, name: string): number {
  const db = new DatabaseSync(env.KIELO_DB, { readOnly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM metrics WHERE run_id = ? AND name = ?").get(runId, name) as { n: number }).n;
  } finally {
    db.close();
  }
}

test("sft → dpo → generate → merge through the CLI, outputs load in transformers", async (t) => {
  await t.test("kielo train sft (LoRA) trains, records metrics and writes an adapter", () => {
    const result = kieloSync(["train", "sft", sftRecipe, "--quiet"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /done: 7 steps/);
    assert.match(result.stdout, /real tokens\/s/);
    assert.ok(existsSync(join(workspace, "runs", "sft", "model", "adapter_config.json")));
    const run = runRow("sft");
    assert.equal(run.status, "done");
    assert.equal(metricCount(run.id, "loss"), 7);
    assert.ok(metricCount(run.id, "eval/loss") >= 1);
  });

  await t.test("the same command again finds the finished job and does not train again", () => {
    const result = kieloSync(["train", "sft", sftRecipe]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /resuming/);
  });

  await t.test("kielo train dpo continues from the SFT adapter with precomputed reference log-probs", () => {
    const result = kieloSync(["train", "dpo", dpoRecipe, "--quiet"]);
    assert.equal(result.status, 0, result.stderr);
    const job = JSON.parse(readFileSync(join(workspace, "runs", "dpo", "job.json"), "utf8")) as { dpo: { reference: string } };
    assert.equal(job.dpo.reference, "precomputed");
    const run = runRow("dpo");
    assert.equal(run.status, "done");
    assert.equal(metricCount(run.id, "loss"), 6);
  });

  await t.test("kielo generate answers every prompt; kielo merge writes a full model", () => {
    const answers = join(workspace, "answers.jsonl");
    const generated = kieloSync([
      "generate", "--model", model, "--adapter", join(workspace, "runs", "dpo", "model"),
      "--prompts", join(examples, "prompts-fi.jsonl"), "--out", answers, "--template", "llama-2",
      "--max-new-tokens", "16", "--batch-size", "4", "--quiet",
    ]);
    assert.equal(generated.status, 0, generated.stderr);
    const rows = readFileSync(answers, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { key: string; prompt: string; response: string });
    const prompts = readFileSync(join(examples, "prompts-fi.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { key: string; prompt: string });
    assert.deepEqual(rows.map((r) => [r.key, r.prompt]), prompts.map((p) => [p.key, p.prompt]));
    assert.ok(rows.every((r) => typeof r.response === "string"));
    // The adapter is merged in memory and the engine's own decoder runs; transformers' generate
    // (the adapter applied by peft) gives the same greedy answers.
    assert.match(generated.stdout, /fast backend/);
    const viaTransformers = join(workspace, "answers-transformers.jsonl");
    const reference = kieloSync([
      "generate", "--model", model, "--adapter", join(workspace, "runs", "dpo", "model"),
      "--prompts", join(examples, "prompts-fi.jsonl"), "--out", viaTransformers, "--template", "llama-2",
      "--max-new-tokens", "16", "--batch-size", "4", "--quiet", "--backend", "transformers",
    ]);
    assert.equal(reference.status, 0, reference.stderr);
    assert.match(reference.stdout, /transformers backend/);
    assert.equal(readFileSync(viaTransformers, "utf8"), readFileSync(answers, "utf8"));

    const merged = join(workspace, "merged");
    const merge = kieloSync(["merge", join(workspace, "runs", "dpo", "model"), "--out", merged, "--dtype", "fp32"]);
    assert.equal(merge.status, 0, merge.stderr);
    // transformers loads the merged model and peft the adapter; their logits agree.
    const check = spawnSync(
      python,
      [
        "-c",
        [
          "import sys, torch",
          "from transformers import AutoModelForCausalLM",
          "from peft import PeftModel",
          "base, adapter, merged = sys.argv[1:4]",
          "ids = torch.tensor([[1, 306, 471, 263, 417]])",
          "m = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)",
          "p = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), adapter)",
          "a, b = m(ids).logits, p(ids).logits",
          "print(float((a - b).abs().max()))",
        ].join("\n"),
        model,
        join(workspace, "runs", "dpo", "model"),
        merged,
      ],
      { encoding: "utf8" },
    );
    assert.equal(check.status, 0, check.stderr);
    assert.ok(Number(check.stdout.trim()) < 1e-4, `merged vs adapter logits differ by ${check.stdout}`);
  });
});

test("Ctrl-C stops training at a checkpoint; the same command resumes and finishes", async () => {
  const recipePath = join(workspace, "long.yaml");
  const jobDir = join(workspace, "runs", "long");
  await writeFile(
    recipePath,
    recipe({
      method: "sft",
      model,
      dtype: "fp32",
      data: { train: join(examples, "sft-fi.jsonl"), template: "llama-2", max_length: 128 },
      adapter: { type: "lora", r: 4, alpha: 8, dropout: 0 },
      training: { epochs: 4, micro_batch_size: 2, lr: 1e-3, save_every_steps: 4, seed: 3 },
      output: jobDir,
    }),
  );
  const child = spawn(process.execPath, [kielo, "train", "sft", recipePath, "--quiet"], { cwd: workspace, env });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // Listened for from the start: a training that ends early must fail the test, not hang it.
  let ended = false;
  const closed = new Promise<number | null>((resolve) => child.once("close", (exitCode) => resolve(exitCode)));
  void closed.then(() => (ended = true));
  const events = join(jobDir, "events.jsonl");
  // Wait for the first step event, then press Ctrl-C.
  for (let i = 0; i < 600 && !ended; i++) {
    if (existsSync(events) && readFileSync(events, "utf8").includes('"type": "step"')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(!ended, `the training ended before its first step:\n${stderr}`);
  child.kill("SIGINT");
  const code = await closed;
  assert.notEqual(code, 0);
  assert.match(stderr, /stopping/);
  assert.match(stderr, /resume/);
  assert.equal(runRow("sft").status, "interrupted");
  const log = readFileSync(events, "utf8");
  assert.match(log, /"type": "checkpoint"/);

  const again = kieloSync(["train", "sft", recipePath, "--quiet"]);
  assert.equal(again.status, 0, again.stderr);
  const starts = readFileSync(events, "utf8")
    .split("\n")
    .filter((line) => line.includes('"type": "start"'))
    .map((line) => JSON.parse(line) as { resumed_from_step: number | null });
  assert.ok((starts.at(-1)!.resumed_from_step ?? 0) > 0, "the second run resumed from a checkpoint");
  assert.equal(runRow("sft").status, "done");
});

test("a recipe whose model folder does not exist fails with a readable error", async () => {
  const recipePath = join(workspace, "missing.yaml");
  await writeFile(
    recipePath,
    recipe({ method: "sft", model: join(workspace, "no-such-model"), data: { train: join(examples, "sft-fi.jsonl") }, training: { lr: 1e-3 } }),
  );
  const result = kieloSync(["train", "sft", recipePath, "--quiet"]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /kielo: .*no-such-model/);
  assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/); // no stack trace
});
