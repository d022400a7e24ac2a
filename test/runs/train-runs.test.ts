/**
 * Trainings as runs, with the real CLI, the real engine and the tiny model on the CPU: a training
 * stopped by Ctrl-C and resumed is one run whose curve has each step once; `kielo train` prints the
 * evaluation loss, learning rate, gradient norm and throughput as they come; the engine's
 * TensorBoard event files, read back by TensorBoard's own reader, hold the same loss curve as
 * kielo.db; `kielo runs compare` shows two trainings side by side; `--report-to` refuses a
 * target whose package is not installed.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { storeQuery } from "./store-query.ts";

const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv", "bin", "python");
const model = join(root, "fixtures", "models", "stories260K", "hf");
const examples = join(root, "examples", "tiny-train");
const workspace = await mkdtemp(join(tmpdir(), "kielo-train-runs-"));
const dbPath = join(workspace, "kielo.db");
const env = { ...process.env, KIELO_DB: dbPath, OMP_NUM_THREADS: "1" };

function kieloSync(args: string[]) {
  return spawnSync(process.execPath, [kielo, ...args], { cwd: workspace, env, encoding: "utf8" });
}

async function recipe(name: string, lr: number, epochs: number): Promise<string> {
  const path = join(workspace, `${name}.yaml`);
  const body = {
    method: "sft",
    model,
    dtype: "fp32",
    data: { train: join(examples, "sft-fi.jsonl"), eval_fraction: 0.125, template: "llama-2", policy: "assistant", max_length: 128 },
    adapter: { type: "lora", r: 4, alpha: 8, dropout: 0 },
    training: { epochs, micro_batch_size: 4, global_batch_size: 8, lr, save_every_steps: 2, eval_every_steps: 3, seed: 1 },
    output: join(workspace, "runs", name),
  };
  await writeFile(path, JSON.stringify(body)); // JSON is YAML
  return path;
}

const query = storeQuery(dbPath);

test("a training interrupted and resumed is one run; live metrics; TensorBoard matches kielo.db; compare", async (t) => {
  const first = await recipe("first", 2e-3, 3);
  const jobDir = join(workspace, "runs", "first");
  // The second training (for compare) runs beside the first: two cores, one thread each.
  const second = await recipe("second", 1e-3, 1);
  const secondTraining = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [kielo, "train", "sft", second, "--quiet"], { cwd: workspace, env });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("close", (code) => resolve({ code, stderr }));
  });

  await t.test("Ctrl-C leaves the run interrupted; the same command continues that run", async () => {
    const child = spawn(process.execPath, [kielo, "train", "sft", first, "--quiet"], { cwd: workspace, env });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Listened for from the start: a training that ends early must fail the test, not hang it.
    let ended = false;
    const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    void closed.then(() => (ended = true));
    const events = join(jobDir, "events.jsonl");
    for (let i = 0; i < 1200 && !ended; i++) {
      if (existsSync(events) && readFileSync(events, "utf8").includes('"type": "step"')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(!ended, `the training ended before its first step:\n${stderr}`);
    child.kill("SIGINT");
    assert.equal(await closed, 130, stderr);
    const [stopped] = query<{ id: number; status: string; job_dir: string }>("SELECT id, status, job_dir FROM runs WHERE label = 'first'");
    assert.equal(stopped!.status, "interrupted");
    assert.equal(stopped!.job_dir, jobDir);

    // Not quiet: the evaluation results come as lines of their own, the step's metrics on the progress line.
    const resumed = kieloSync(["train", "sft", first]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /^eval at step 3: loss \d+\.\d{4}$/m);
    assert.match(resumed.stderr, /train sft: \d+\/\d+ steps .*loss \d+\.\d{4}, lr \d\.\d\de-\d, grad \d+\.\d{3}, [\d.k]+ tok\/s/);
    const runs = query<{ id: number; status: string }>("SELECT id, status FROM runs WHERE label = 'first'").map((r) => [r.id, r.status]);
    assert.deepEqual(runs, [[stopped!.id, "done"]]);
    const steps = query<{ step: number }>("SELECT step FROM metrics WHERE run_id = ? AND name = 'loss' ORDER BY step", stopped!.id).map((r) => r.step);
    const total = (JSON.parse(readFileSync(join(jobDir, "job.json"), "utf8")) as { steps: number }).steps;
    assert.deepEqual(steps, Array.from({ length: total }, (_, i) => i + 1), "each step once, after the resume too");
  });

  await t.test("TensorBoard's reader finds the loss and eval-loss curves of kielo.db", () => {
    const script = [
      "import json, sys",
      "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator",
      "acc = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0})",
      "acc.Reload()",
      "print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()['scalars']}))",
    ].join("\n");
    const read = spawnSync(python, ["-c", script, join(jobDir, "tensorboard")], { encoding: "utf8" });
    assert.equal(read.status, 0, read.stderr);
    const curves = JSON.parse(read.stdout) as Record<string, [number, number][]>;
    for (const [tag, metric] of [["train/loss", "loss"], ["eval/loss", "eval/loss"], ["train/lr", "lr"], ["train/grad_norm", "grad_norm"]] as const) {
      const stored = query<{ step: number; value: number }>("SELECT step, value FROM metrics JOIN runs ON runs.id = run_id WHERE label = 'first' AND name = ? ORDER BY step", metric);
      const board = curves[tag] ?? [];
      assert.deepEqual(board.map(([step]) => step), stored.map((r) => r.step), `${tag}: the same steps`);
      // TensorBoard keeps float32.
      board.forEach(([, value], i) => assert.ok(Math.abs(value - stored[i]!.value) <= 1e-6 * Math.max(1, Math.abs(value)), `${tag} at step ${board[i]![0]}`));
    }
  });

  await t.test("kielo runs compare shows the two trainings side by side", async () => {
    const trained = await secondTraining;
    assert.equal(trained.code, 0, trained.stderr);
    const list = kieloSync(["runs", "--kind", "sft", "--json"]);
    const byLabel = new Map((JSON.parse(list.stdout) as { id: number; label: string; status: string }[]).map((r) => [r.label, r] as const));
    assert.deepEqual([...byLabel.values()].map((r) => [r.label, r.status]).sort(), [["first", "done"], ["second", "done"]]);
    const [firstId, secondId] = [String(byLabel.get("first")!.id), String(byLabel.get("second")!.id)];
    const compare = kieloSync(["runs", "compare", firstId, secondId, "--json"]);
    assert.equal(compare.status, 0, compare.stderr);
    const c = JSON.parse(compare.stdout) as { settings: { key: string; values: unknown[] }[]; metrics: { name: string; values: (number | null)[] }[] };
    const settings = Object.fromEntries(c.settings.map((s) => [s.key, s.values]));
    assert.deepEqual(settings["recipe.training.lr"], [2e-3, 1e-3]);
    assert.deepEqual(settings["recipe.training.epochs"], [3, 1]);
    const loss = c.metrics.find((m) => m.name === "eval/loss");
    assert.ok(loss && loss.values.every((v) => typeof v === "number"));
    const text = kieloSync(["runs", "compare", firstId, secondId]);
    assert.match(text.stdout, /^recipe\.training\.lr\s+0\.0020\s+0\.0010$/m);
    const show = kieloSync(["runs", "show", secondId]);
    assert.match(show.stdout, /train_sha256\s+[0-9a-f]{64}/);
    assert.match(show.stdout, new RegExp(`tensorboard\\s+${join(workspace, "runs", "second", "tensorboard")}`));
    assert.match(show.stdout, /events\s+.*events\.jsonl/);
  });

  await t.test("--report-to a target that is not installed is a clear error before training", () => {
    const probe = spawnSync(python, ["-c", "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('wandb') else 1)"]);
    if (probe.status === 0) return t.skip("wandb is installed here");
    const before = query<{ n: number }>("SELECT COUNT(*) AS n FROM runs")[0]!.n;
    const result = kieloSync(["train", "sft", join(workspace, "second.yaml"), "--report-to", "tensorboard,wandb"]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^kielo: --report-to wandb: the engine's Python \(.*\) does not have wandb\nhint: Install it there/m);
    assert.equal(query<{ n: number }>("SELECT COUNT(*) AS n FROM runs")[0]!.n, before);
    const unknown = kieloSync(["train", "sft", join(workspace, "second.yaml"), "--report-to", "comet"]);
    assert.match(unknown.stderr, /--report-to: unknown target "comet"/);
  });
});
