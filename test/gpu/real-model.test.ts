/**
 * scripts/gpu/real-model.sh rehearsed on the CPU with the real SmolLM2-135M-Instruct at tiny sizes:
 * one LoRA SFT step on Finnish instructions and one DPO step from it, both through `kielo train`;
 * the held-out loss before → after (agreeing with the engine's own eval loss); answers scored for
 * language, loops and prompt copies; IFEval generation and scoring; `kielo merge`; and the merged
 * folder loaded by transformers with logits equal to the adapter's. `sft-full` (a full fine-tune:
 * 2 GiB of optimizer state on a CPU) and `doctor` are left to the GPU run.
 *
 * Also scripts/gpu/model-parts.sh and the join step of model-assemble.sh: the GGUF in three parts
 * of at most 33 MiB, joined and checked again.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REAL_MODEL_GGUF, realModelDir, ROOT } from "../real-model/model.ts";

function json<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

test("real-model.sh: SFT and DPO steps, held-out loss, answers, IFEval, merge and load of the real model on the CPU", { timeout: 900_000 }, async (t) => {
  realModelDir();
  const work = mkdtempSync(join(tmpdir(), "kielo-real-model-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const out = join(work, "out");
  mkdirSync(out);
  const run = spawnSync("bash", [join(ROOT, "scripts/gpu/real-model.sh")], {
    encoding: "utf8",
    env: {
      ...process.env,
      KIELO_RM_DEVICE: "cpu",
      KIELO_RM_WORK: join(work, "w"),
      KIELO_RM_PHASES: "sft-lora,dpo,heldout,answers,ifeval,merge,load",
      KIELO_RM_ANSWER_MODELS: "dpo",
      KIELO_RM_IFEVAL_MODELS: "dpo",
      OUT: out,
      OMP_NUM_THREADS: "1",
    },
  });
  assert.equal(run.status, 0, run.stdout.slice(-4000) + run.stderr.slice(-2000));
  const results = join(work, "w", "results");

  await t.test("both training steps ran through kielo train on the preset recipes", () => {
    const sft = json<{ method: string; steps: number; eval_loss: number; trainable_params: number }>(join(results, "train-sft-lora.json"));
    assert.equal(sft.method, "sft");
    assert.equal(sft.steps, 1);
    // recipes/smollm2-fi-sft-lora.yaml: LoRA r 16 on all seven linear layers of 30 blocks (576 → 576/192/1536).
    assert.equal(sft.trainable_params, 30 * 16 * (576 + 576 + (576 + 192) * 2 + (576 + 576) + (576 + 1536) * 2 + (1536 + 576)));
    const dpo = json<{ method: string; steps: number; eval_accuracy: number; eval_pairs: number }>(join(results, "train-dpo.json"));
    assert.equal(dpo.method, "dpo");
    assert.ok(dpo.steps >= 1 && dpo.eval_pairs >= 1 && dpo.eval_accuracy >= 0 && dpo.eval_accuracy <= 1);
    const recipe = json<{ model: string; init_adapter: string; data: { train: string } }>(join(work, "w", "dpo.yaml"));
    assert.equal(recipe.model, realModelDir());
    assert.equal(recipe.init_adapter, join(work, "w", "runs", "sft-lora", "model"));
  });

  await t.test("held-out Finnish loss before and after, on the same tokens as the engine's eval", () => {
    const held = json<Record<string, { loss: number; tokens: number }> & { engine_check: Record<string, { relative_difference: number }> }>(join(results, "heldout.json"));
    assert.ok(held["base"]!.tokens > 0 && held["base"]!.tokens === held["sft-lora"]!.tokens);
    assert.notEqual(held["base"]!.loss, held["sft-lora"]!.loss, "one LoRA step changes the model");
    assert.ok(held.engine_check["sft-lora"]!.relative_difference < 1e-4, "fp32 on the CPU: the same number as the engine's");
  });

  await t.test("answers and IFEval are scored", () => {
    const answers = json<{ answers: number; in_lang_share: number; loop_share: number; copy_share: number }>(join(results, "answers-dpo.json"));
    assert.equal(answers.answers, 2);
    for (const share of [answers.in_lang_share, answers.loop_share, answers.copy_share]) assert.ok(share >= 0 && share <= 1);
    // The first two held-out records' own answers: Finnish, neither looping nor copying.
    const human = json<{ answers: number; in_lang: number; loops: number; copies: number }>(join(results, "answers-human.json"));
    assert.deepEqual([human.answers, human.in_lang, human.loops, human.copies], [2, 2, 0, 0]);
    const ifeval = json<{ prompts: number; instructions: number; max_new_tokens: number }>(join(results, "ifeval-dpo.json"));
    assert.deepEqual([ifeval.prompts, ifeval.max_new_tokens], [2, 8]);
  });

  await t.test("the merged model loads in transformers and its logits equal the adapter's", () => {
    const load = json<{ max_abs_logit_diff: number; logit_scale: number; argmax_agreement: number }>(join(results, "load.json"));
    assert.ok(load.max_abs_logit_diff <= 1e-4 * load.logit_scale + 1e-4, `max |Δlogit| ${load.max_abs_logit_diff}`);
    assert.equal(load.argmax_agreement, 1);
    for (const file of ["config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"]) assert.ok(existsSync(join(work, "w", "merged", file)), file);
  });

  await t.test("the tables come last, and OUT holds two files", () => {
    assert.deepEqual(readdirSync(out).sort(), ["real-model-logs.tar.gz", "real-model-summary.txt"]);
    const summary = readFileSync(join(out, "real-model-summary.txt"), "utf8");
    assert.ok(run.stdout.trimEnd().endsWith("real-model: all phases passed"));
    for (const phase of ["sft-lora", "dpo", "heldout", "answers", "ifeval", "merge", "load"]) assert.match(summary, new RegExp(`^${phase}\\s+ok\\s`, "m"));
    assert.match(summary, /^held-out Finnish loss \(\d+ docs\)\s+\d\.\d{4}\s+\d\.\d{4}\s+-\s+-\s+-$/m);
    assert.match(summary, /^answers in Finnish \(2 prompts\)\s+-\s+-\s+-\s+\d+\.\d\d%\s+100\.00%$/m);
    assert.match(summary, /^DPO held-out reward accuracy/m);
  });
});

test("model-parts.sh cuts the GGUF into three carriable parts; model-assemble.sh joins and checks them", (t) => {
  realModelDir();
  const scratch = mkdtempSync(join(tmpdir(), "kielo-model-parts-"));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const parts = spawnSync("bash", [join(ROOT, "scripts/gpu/model-parts.sh")], {
    encoding: "utf8",
    env: { ...process.env, KIELO_GPU_PARTS_DIR: scratch },
  });
  assert.equal(parts.status, 0, parts.stderr);
  const sizes = [1, 2, 3].map((i) => {
    const files = readdirSync(join(scratch, `.model-part-${i}`));
    assert.equal(files.length, 1);
    return statSync(join(scratch, `.model-part-${i}`, files[0]!)).size;
  });
  assert.equal(sizes.reduce((a, b) => a + b), statSync(REAL_MODEL_GGUF).size);
  for (const size of sizes) assert.ok(size <= 33 * 2 ** 20, `${size} bytes`);

  // The GPU host's view: a checkout with the three part folders, the join step only.
  mkdirSync(join(scratch, "scripts", "gpu"), { recursive: true });
  mkdirSync(join(scratch, "fixtures", "models"), { recursive: true });
  copyFileSync(join(ROOT, "scripts/gpu/model-assemble.sh"), join(scratch, "scripts/gpu/model-assemble.sh"));
  copyFileSync(join(ROOT, "fixtures/models/SHA256SUMS"), join(scratch, "fixtures/models/SHA256SUMS"));
  const assemble = () =>
    spawnSync("bash", [join(scratch, "scripts/gpu/model-assemble.sh")], { encoding: "utf8", env: { ...process.env, KIELO_ASSEMBLE_STEPS: "join" } });
  const joined = join(scratch, "fixtures/models/gguf", REAL_MODEL_GGUF.split("/").at(-1)!);
  // A damaged part is refused and leaves nothing behind.
  const part2 = join(scratch, ".model-part-2", readdirSync(join(scratch, ".model-part-2"))[0]!);
  const good = readFileSync(part2);
  writeFileSync(part2, Buffer.concat([good.subarray(0, 1000), Buffer.from([good[1000]! ^ 1]), good.subarray(1001)]));
  const bad = assemble();
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /sha256 .* expected b179c952/);
  assert.ok(!existsSync(joined) && !existsSync(`${joined}.partial`));
  writeFileSync(part2, good);
  const ok = assemble();
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /join: .*98362432 bytes, sha256 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53/);
  assert.equal(statSync(joined).size, 98_362_432);
});
