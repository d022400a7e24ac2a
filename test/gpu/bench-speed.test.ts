/**
 * engine/gpu_checks/bench_speed.py at --cpu --tiny: kielo's real engine and the peers (the HF +
 * peft loop; HF + peft + bitsandbytes NF4 where bitsandbytes is installed — it is not in the test
 * environment, whose every `import peft` it would make print a warning) train side by side on the
 * same lengths, the table and
 * JSON carry their numbers and the ratios; the job folders follow docs/formats.md and hold the
 * real OASST lengths of fixtures/bench/. Also the fixture itself, re-derived by
 * scripts/gpu/oasst-lengths.ts from the oasst1 validation sample in test/fixtures/data.
 *
 * The rehearsal runs one family of each kind (full rows: qlora-full and full-1b; OASST lengths:
 * lora-oasst; DPO: dpo-oasst); lora-full and full-7b use the same code with another model folder.
 * Peers share one process here (--peers-in-one-process) to keep the test lean; on a GPU each run
 * is its own process.
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
const node = join(root, "node_modules", ".bin", "node");
const script = join(root, "engine", "gpu_checks", "bench_speed.py");
const fixturePath = join(root, "fixtures", "bench", "oasst1-validation-lengths.json");
const TINY_SEQ_LEN = 256;

interface Row {
  name: string;
  family: string;
  runner: string;
  status: string;
  message: string;
  params: number | null;
  trainable_params: number | null;
  tokens_per_s: number | null;
  mfu: number | null;
  pairs_per_s: number | null;
  peak_memory_gib: number | null;
  kielo_ratio: number | null;
  fill: number | null;
  steps_timed: number;
  step_tokens: number[];
  step_pairs: number[];
  job_fields: Record<string, unknown> | null;
}

interface Fixture {
  source: { sha256: string };
  sft: { stats: { n: number; mean: number; median: number; p90: number; max: number }; pairs: [number, number][] };
  dpo: { stats: { n: number }; pairs: [number, number, number][] };
}

const fixture = JSON.parse(readFileSync(fixturePath, "utf8")) as Fixture;

test("bench_speed.py --cpu --tiny: kielo and its peers side by side", { timeout: 300_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), "kielo-bench-speed-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const out = join(work, "out");
  const families = "lora-oasst,qlora-full,full-1b,dpo-oasst,generate";
  const run = spawnSync(
    python,
    [script, "--cpu", "--tiny", "--peers-in-one-process", "--families", families, "--work", join(work, "w"), "--out", out, "--keep",
      "--kielo-job", "dpo.label_smoothing=0.1", "--kielo-job", "log_every_steps=1"],
    { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } },
  );
  assert.equal(run.status, 0, run.stdout.slice(-4000) + run.stderr.slice(-3000));
  const report = JSON.parse(readFileSync(join(out, "bench_speed.json"), "utf8")) as { results: Row[]; notes: string[] };
  const rows = new Map(report.results.map((r) => [r.name, r]));

  await t.test("every planned run ran (or says why not), in the planned order", () => {
    assert.deepEqual([...rows.keys()], [
      "lora-oasst/kielo", "lora-oasst/hf", "qlora-full/kielo", "qlora-full/kielo:8GiB", "qlora-full/hf+bnb", "full-1b/kielo", "full-1b/hf",
      "dpo-oasst/kielo", "dpo-oasst/hf", "dpo-oasst/kielo:precomputed-ref", "dpo-oasst/kielo:precomputed-ref:18GiB", "generate", "lora-oasst/hf+liger",
    ]);
    const bnb = rows.get("qlora-full/hf+bnb")!;
    if (bnb.status === "SKIPPED") assert.match(bnb.message, /bitsandbytes is not installed: the peers have no QLoRA here/);
    for (const r of report.results.filter((r) => r.runner !== "hf+liger" && r.runner !== "generate" && r !== bnb)) {
      assert.equal(r.status, "ok", `${r.name}: ${r.message}`);
      assert.equal(r.steps_timed, 1, "2 steps, the first not timed");
      assert.ok(r.tokens_per_s! > 0 && r.peak_memory_gib! > 0, r.name);
      assert.equal(r.mfu, null, "no MFU against a GPU's peak on a CPU");
    }
    assert.equal(rows.get("lora-oasst/hf+liger")!.status, "SKIPPED");
    assert.match(rows.get("lora-oasst/hf+liger")!.message, /GPU only/);
    const generate = rows.get("generate")!;
    assert.ok(generate.status === "ok" || /bench_generate\.py not found/.test(generate.message), `${generate.status}: ${generate.message}`);
  });

  await t.test("kielo and the peer train the same model: equal parameter counts", () => {
    for (const [kielo, peer] of [["lora-oasst/kielo", "lora-oasst/hf"], ["qlora-full/kielo", "qlora-full/hf+bnb"], ["full-1b/kielo", "full-1b/hf"], ["dpo-oasst/kielo", "dpo-oasst/hf"]] as const) {
      if (rows.get(peer)!.status === "SKIPPED") continue;
      assert.equal(rows.get(kielo)!.trainable_params, rows.get(peer)!.trainable_params, `${kielo} vs ${peer}: trainable`);
      assert.equal(rows.get(kielo)!.params, rows.get(peer)!.params, `${kielo} vs ${peer}: all`);
    }
    // Tiny shapes, vocab 2048: LoRA r16 on q, k, v, o (256 → 256) and gate, up (256 → 688), down (688 → 256), 2 layers.
    assert.equal(rows.get("lora-oasst/kielo")!.trainable_params, 2 * (4 * 16 * 512 + 3 * 16 * 944));
    assert.equal(rows.get("full-1b/hf")!.trainable_params, rows.get("full-1b/hf")!.params);
  });

  await t.test("kielo and the peer see the same documents (DPO: pairs), step by step", () => {
    const kielo = rows.get("dpo-oasst/kielo")!;
    const peer = rows.get("dpo-oasst/hf")!;
    // --tiny: a quarter of the 8 pairs per step.
    assert.deepEqual(kielo.step_pairs, [2, 2]);
    assert.deepEqual(kielo.step_tokens, peer.step_tokens);
    assert.deepEqual(kielo.step_pairs, peer.step_pairs);
    assert.ok(peer.pairs_per_s! > 0 && kielo.pairs_per_s! > 0);
    assert.deepEqual(rows.get("lora-oasst/kielo")!.step_tokens, rows.get("lora-oasst/hf")!.step_tokens);
    assert.deepEqual(rows.get("full-1b/kielo")!.step_tokens, [4 * TINY_SEQ_LEN, 4 * TINY_SEQ_LEN], "four full rows per step (a quarter of 16)");
    assert.deepEqual(rows.get("full-1b/kielo")!.step_tokens, rows.get("full-1b/hf")!.step_tokens);
  });

  await t.test("ratios: kielo ÷ peer on each peer row", () => {
    // The generate row is bench_generate.py's own comparison (its summary), not a kielo ÷ peer pair.
    for (const r of report.results.filter((r) => r.runner !== "kielo" && r.runner !== "generate" && r.status === "ok")) {
      const kielo = rows.get(`${r.family}/kielo`)!;
      const expected = r.family.startsWith("dpo") ? kielo.pairs_per_s! / r.pairs_per_s! : kielo.tokens_per_s! / r.tokens_per_s!;
      assert.ok(Math.abs(r.kielo_ratio! - expected) < 1e-9 * expected, r.name);
    }
    assert.ok(rows.get("lora-oasst/hf")!.fill! < rows.get("lora-oasst/kielo")!.fill!, "padding wastes more than packing");
  });

  await t.test("the table is printed last and names random init, real shapes", () => {
    const lines = run.stdout.trimEnd().split("\n");
    const header = lines.findIndex((line) => line.startsWith("family/runner"));
    assert.match(lines[header]!, /model\s+setup\s+fill\s+real tok\/s\s+MFU\s+pairs\/s\s+peak GiB\s+kielo ÷\s+status$/);
    assert.deepEqual(lines.slice(header + 1).map((line) => line.split(/\s+/)[0]), [...rows.keys()]);
    for (const line of lines.slice(header + 1).filter((line) => !line.startsWith("generate"))) assert.match(line, /-like, random init/);
    assert.match(report.notes[0]!, /^bench_speed: random init, real shapes/);
    assert.match(lines.find((line) => line.startsWith("lora-oasst/hf "))!, /\d\.\d\d×\s+ok$/);
    assert.equal(readFileSync(join(out, "bench_speed.txt"), "utf8"), `${report.notes.join("\n")}\n${lines.slice(header).join("\n")}\n`);
  });

  await t.test("kielo's job folders: the real OASST lengths, as its compiler lays them out", () => {
    const sft = new Set(fixture.sft.pairs.map(([n, p]) => `${n},${p}`));
    const job = join(work, "w", "job-lora-oasst-kielo");
    const data = openCompiled(join(job, "data", "train"));
    assert.equal(data.manifest.packing, null, "one document per sequence, in micro-batches by token budget");
    for (let d = 0; d < data.documentCount; d++) {
      const { start, end } = data.documentRange(d);
      const prompt = data.trained.subarray(start, end).indexOf(1);
      assert.ok(sft.has(`${end - start},${prompt}`), `document ${d}: ${end - start} tokens, prompt ${prompt} is an OASST pair`);
      assert.ok(data.trained.subarray(start + prompt, end).every((flag) => flag === 1));
    }
    // schedule.bin with a varying number of micro-batches: [steps, 0, (m, (n, seq…) × m) per step],
    // each micro-batch at most the (tiny) budget of 2048 tokens.
    const lengths = sequenceLengths(data);
    const schedule = [...new BigInt64Array(new Uint8Array(readFileSync(join(job, "schedule.bin"))).buffer)].map(Number);
    assert.deepEqual(schedule.slice(0, 2), [2, 0]);
    let at = 2;
    const seen: number[] = [];
    for (let step = 0; step < 2; step++) {
      const micro = schedule[at++]!;
      for (let m = 0; m < micro; m++) {
        const seqs = schedule.slice(at + 1, at + 1 + schedule[at]!);
        at += 1 + seqs.length;
        assert.ok(seqs.reduce((sum, s) => sum + lengths[s]!, 0) <= 2048);
        seen.push(...seqs);
      }
    }
    assert.equal(at, schedule.length);
    assert.deepEqual(seen.sort((a, b) => a - b), [...Array(16).keys()], "8 documents per step, each once");
    assert.equal((JSON.parse(readFileSync(join(job, "job.json"), "utf8")) as Record<string, unknown>)["micro_batches_per_step"], 0);

    const dpo = new Set(fixture.dpo.pairs.map((p) => p.join(",")));
    const pairs = openCompiled(join(work, "w", "job-dpo-oasst-kielo", "data", "train"));
    assert.equal(pairs.manifest.kind, "preference");
    for (let d = 0; d < pairs.documentCount; d += 2) {
      const chosen = pairs.documentRange(d);
      const rejected = pairs.documentRange(d + 1);
      const prompt = pairs.trained.subarray(chosen.start, chosen.end).indexOf(1);
      assert.ok(dpo.has([prompt, chosen.end - chosen.start - prompt, rejected.end - rejected.start - prompt].join(",")));
      assert.deepEqual(pairs.tokens.subarray(chosen.start, chosen.start + prompt), pairs.tokens.subarray(rejected.start, rejected.start + prompt), "one prompt, two replies");
    }
    const dpoJob = JSON.parse(readFileSync(join(work, "w", "job-dpo-oasst-kielo", "job.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(dpoJob["dpo"], { beta: 0.1, loss: "sigmoid", label_smoothing: 0.1, reference: "adapter-disabled" }, "--kielo-job sets a nested field");
    assert.deepEqual(rows.get("dpo-oasst/kielo")!.job_fields!["dpo.label_smoothing"], 0.1);
    const precomputed = JSON.parse(readFileSync(join(work, "w", "job-dpo-oasst-kielo-precomputed-ref", "job.json"), "utf8")) as Record<string, unknown>;
    assert.equal((precomputed["dpo"] as Record<string, unknown>)["reference"], "precomputed", "a variant row is its own job folder");
    const limited = JSON.parse(readFileSync(join(work, "w", "job-qlora-full-kielo-8GiB", "job.json"), "utf8")) as Record<string, unknown>;
    assert.equal(limited["memory_limit_gib"], 8);
    const sftJob = JSON.parse(readFileSync(join(work, "w", "job-lora-oasst-kielo", "job.json"), "utf8")) as Record<string, unknown>;
    assert.equal(sftJob["dpo"], null, "a dpo.* field is not set in an SFT job");
    assert.equal((sftJob["model"] as Record<string, unknown>)["attn_implementation"], "auto", "as `kielo train` writes it");
    assert.equal(sftJob["gradient_checkpointing"], "auto");
    const qlora = JSON.parse(readFileSync(join(work, "w", "job-qlora-full-kielo", "job.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(qlora["adapter"], {
      type: "qlora", r: 16, alpha: 32, dropout: 0.05, target_modules: "all-linear",
      quant: { type: "nf4", block_size: 64, double_quant: true, compute_dtype: "fp32" },
    });
  });
});

test("bench_speed.py refuses bad settings before any work", () => {
  for (const [args, message] of [
    [["--peers-in-one-process"], /CPU rehearsal/],
    [["--cpu", "--families", "lora,nope"], /unknown families\/runners \['lora', 'nope'\]/],
    [["--cpu", "--kielo-job", "novalue"], /expected FIELD=JSON/],
  ] as const) {
    const run = spawnSync(python, [script, ...args], { encoding: "utf8" });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, message);
  }
});

test("every run of a family takes the same number of sequences per step, at full size and --tiny", () => {
  const code = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(root, "engine", "gpu_checks"))})
import bench_workloads as w
out = {}
for r in w.RUNS:
    if r.family != w.GENERATE:
        out.setdefault(r.family, set()).update({(r.per_step, r.tiny(256, 2048).per_step)})
print(json.dumps({k: sorted(v) for k, v in out.items()}))`;
  const run = spawnSync(python, ["-c", code], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    "lora-full": [[4, 1]], "lora-oasst": [[32, 8]], "qlora-full": [[4, 1]], "full-1b": [[16, 4]], "dpo-oasst": [[8, 2]], "full-7b": [[4, 1]],
  });
});

test("fixtures/bench: the OASST lengths are kielo's compiler's, and their statistics hold", async (t) => {
  const { sft, dpo } = fixture;
  assert.equal(fixture.source.sha256, "b92db3f1db324f5aa3c5d75ed65a451b54063de1de7370506233c9917043bd66", "the oasst1 validation file of ../shared");
  const lengths = sft.pairs.map(([n]) => n).sort((a, b) => a - b);
  assert.equal(sft.stats.n, 1241);
  assert.equal(Math.round((lengths.reduce((a, b) => a + b, 0) / lengths.length) * 10) / 10, sft.stats.mean);
  // The distribution the benchmark stands for: mean 237, median 169, p90 484 tokens.
  assert.deepEqual([Math.round(sft.stats.mean), sft.stats.median, sft.stats.p90], [238, 169, 484]);
  assert.equal(lengths[Math.floor(lengths.length / 2)], 169);
  assert.ok(sft.pairs.every(([n, p]) => p >= 1 && p < n));
  assert.equal(dpo.pairs.length, dpo.stats.n);

  // The same script on the 5-tree sample of the same validation file (test/fixtures/data): its
  // pairs, in file order, are a subsequence of the fixture's.
  const dir = await mkdtemp(join(tmpdir(), "kielo-oasst-lengths-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sample = join(root, "test", "fixtures", "data", "oasst", "validation_en_sample.jsonl");
  const made = spawnSync(node, [join(root, "scripts", "gpu", "oasst-lengths.ts"), "--source", sample, "--out", join(dir, "lengths.json")], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
  const small = JSON.parse(readFileSync(join(dir, "lengths.json"), "utf8")) as Fixture;
  assert.ok(small.sft.pairs.length >= 5 && small.dpo.pairs.length >= 1, `${small.sft.pairs.length} sft, ${small.dpo.pairs.length} dpo pairs`);
  const isSubsequence = (part: number[][], whole: number[][]): boolean => {
    let i = 0;
    for (const item of whole) if (i < part.length && item.join() === part[i]!.join()) i++;
    return i === part.length;
  };
  assert.ok(isSubsequence(small.sft.pairs, sft.pairs), "sft pairs");
  assert.ok(isSubsequence(small.dpo.pairs, dpo.pairs), "dpo pairs");
});
