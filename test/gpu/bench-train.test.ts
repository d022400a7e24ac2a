/**
 * engine/gpu_checks/bench_train.py at --cpu --tiny: its job folders follow docs/formats.md §2–§3
 * (read back with kielo's own reader), the real engine trains every configuration, and the table
 * and JSON carry the engine's numbers. Also the 7B arithmetic the GPU run relies on.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openCompiled, sequenceLengths } from "../../src/compile/read-compiled.ts";

const root = new URL("../../", import.meta.url).pathname;
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv", "bin", "python");
const script = join(root, "engine", "gpu_checks", "bench_train.py");
const SEQ_LEN = 128;

interface BenchResult {
  config: string;
  layers: number;
  data: string;
  status: string;
  params: number;
  trainable_params: number;
  tokens_per_s: number;
  seconds_per_step: number;
  peak_memory_gib: number;
  fill: number;
  steps_timed: number;
  step_tokens: number[];
}

test("bench_train.py --cpu --tiny trains every configuration through the engine", { timeout: 300_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), "kielo-bench-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const out = join(work, "out");
  const run = spawnSync(
    python,
    // --full-layers 1: the full fine-tune on a model cut to its first layer, as on a GPU too small for all.
    [script, "--cpu", "--tiny", "--steps", "2", "--seq-len", String(SEQ_LEN), "--full-layers", "1", "--work", join(work, "w"), "--out", out, "--keep"],
    { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } },
  );
  assert.equal(run.status, 0, run.stdout.slice(-3000) + run.stderr.slice(-3000));
  const report = JSON.parse(readFileSync(join(out, "bench_train.json"), "utf8")) as { results: BenchResult[]; notes: string[] };
  const byName = new Map(report.results.map((r) => [r.config, r]));

  await t.test("every configuration ran, with the engine's numbers", () => {
    assert.deepEqual([...byName.keys()], ["lora", "qlora", "full", "lora-padded"]);
    for (const r of report.results) {
      assert.equal(r.status, "ok", r.config);
      assert.equal(r.layers, r.config === "full" ? 1 : 2);
      assert.equal(r.steps_timed, 1, "the first of 2 steps is not timed");
      assert.ok(r.tokens_per_s > 0 && r.seconds_per_step > 0 && r.peak_memory_gib > 0, r.config);
      // micro-batch 2 × 2 accumulation: 4 sequences of at most SEQ_LEN real tokens per step.
      for (const tokens of r.step_tokens) assert.ok(tokens > 0 && tokens <= 4 * SEQ_LEN, `${r.config}: ${tokens} tokens`);
    }
    // Hand-counted for hidden 256, intermediate 688, vocab 32000, untied head: per layer
    // 4·256² (q, k, v, o) + 3·256·688 (MLP) + 2·256 (norms) = 791,040; embeddings and head
    // 2·32000·256 = 16,384,000; final norm 256.
    assert.equal(byName.get("full")!.params, 1 * 791_040 + 16_384_000 + 256);
    assert.equal(byName.get("lora")!.params, 2 * 791_040 + 16_384_000 + 256 + byName.get("lora")!.trainable_params);
    assert.equal(byName.get("full")!.trainable_params, byName.get("full")!.params);
    // LoRA r16 on the 7 linear layers of each block: r·(in + out) each = 4·16·512 + 3·16·944.
    assert.equal(byName.get("lora")!.trainable_params, 2 * (4 * 16 * 512 + 3 * 16 * 944));
    assert.equal(byName.get("qlora")!.trainable_params, byName.get("lora")!.trainable_params);
    assert.equal(byName.get("lora-padded")!.data, "padded");
    assert.ok(byName.get("lora-padded")!.fill < 1, "padding costs computed positions");
  });

  await t.test("the table is printed last and names random init, real shapes", () => {
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines.at(-5)!, /^config\s+layers\s+data\s+trainable\s+tokens\/s \(real\)\s+fill\s+peak GiB\s+s\/step\s+load s\s+status$/);
    assert.deepEqual(lines.slice(-4).map((line) => line.split(/\s+/)[0]), ["lora", "qlora", "full", "lora-padded"]);
    assert.ok(lines.slice(-4).every((line) => line.endsWith(" ok")));
    assert.match(run.stdout, /random init, real shapes/);
    assert.equal(readFileSync(join(out, "bench_train.txt"), "utf8"), `${report.notes.join("\n")}\n${lines.slice(-5).join("\n")}\n`);
  });

  await t.test("the job folders follow docs/formats.md: kielo's reader accepts the compiled data", () => {
    for (const name of ["lora", "lora-padded"]) {
      const job = join(work, "w", `job-${name}`);
      const data = openCompiled(join(job, "data", "train"));
      assert.equal(data.manifest.packing !== null, name === "lora");
      for (const length of sequenceLengths(data)) assert.ok(length <= SEQ_LEN);
      for (let d = 0; d < data.documentCount; d++) {
        const { start, end } = data.documentRange(d);
        assert.equal(data.trained[start], 0, "the first token of a document is never trained");
        assert.ok(data.trained.subarray(start + 1, end).every((flag) => flag === 1));
      }
      assert.equal(data.rows().length, data.documentCount);
      // schedule.bin: [steps, micro-batches per step, then n, seq… for each micro-batch].
      const schedule = [...new BigInt64Array(new Uint8Array(readFileSync(join(job, "schedule.bin"))).buffer)].map(Number);
      assert.deepEqual(schedule, [2, 2, 2, 0, 1, 2, 2, 3, 2, 4, 5, 2, 6, 7]);
      const spec = JSON.parse(readFileSync(join(job, "job.json"), "utf8")) as Record<string, unknown>;
      assert.equal(spec["gradient_checkpointing"], true);
      assert.deepEqual(spec["adapter"], { type: "lora", r: 16, alpha: 32, dropout: 0.05, target_modules: "all-linear", quant: null });
    }
  });
});

test("the 7B arithmetic: Llama-2-7B's parameter count, and full fine-tuning layers that fit the GPU", () => {
  const code = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(root, "engine", "gpu_checks"))})
import bench_train as b
s = b.LLAMA2_7B
gpus = {"h100": 85045874688, "a100-40": 42505273344}
layers = {k: b.full_ft_layers(s, v, 2, 2048) for k, v in gpus.items()}
fits = {k: [b.full_ft_bytes(s, n, 2, 2048) <= 0.9 * gpus[k] for n in (layers[k], layers[k] + 1)] for k in gpus}
print(json.dumps({"params": b.parameter_count(s, 32), "layers": layers, "fits": fits}))`;
  const run = spawnSync(python, ["-c", code], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { params: number; layers: Record<string, number>; fits: Record<string, boolean[]> };
  assert.equal(result.params, 6_738_415_616, "Llama-2-7B has 6,738,415,616 parameters");
  // fp32 master weights + gradients + AdamW moments: 16 B/param ≈ 100 GiB for 32 layers, so an
  // 80 GB H100 takes 20 layers (measured there: peak 73.8 GiB) and a 40 GB GPU 8; each is the most
  // layers whose estimate fits, one more would not.
  assert.equal(result.layers["h100"], 20);
  assert.equal(result.layers["a100-40"], 8);
  assert.deepEqual(result.fits["h100"], [true, false]);
  assert.deepEqual(result.fits["a100-40"], [true, false]);
});
