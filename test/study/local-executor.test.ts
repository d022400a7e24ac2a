/**
 * The local executor with real child processes: dependencies are respected, a failed step cancels
 * only its dependents, GPU steps get their own CUDA_VISIBLE_DEVICES, CPU steps respect the limit.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { StepJob, StepUpdate } from "../../src/study/executor.ts";
import { LocalExecutor } from "../../src/study/executors/local.ts";
import { tempDir } from "./helpers.ts";

const dir = tempDir("local-executor");

/** A step that records when it ran and what it saw, then exits with `code`. */
function job(id: string, options: { deps?: string[]; gpus?: number; code?: number; sleep?: number } = {}): StepJob {
  const script = `const fs = require("node:fs"); const t0 = Date.now(); setTimeout(() => { fs.writeFileSync(${JSON.stringify(join(dir, `${id}.json`))}, JSON.stringify({ t0, t1: Date.now(), cuda: process.env.CUDA_VISIBLE_DEVICES, omp: process.env.OMP_NUM_THREADS, extra: process.env.EXTRA })); process.exit(${options.code ?? 0}); }, ${options.sleep ?? 200});`;
  return { id, argv: [process.execPath, "-e", script], cwd: dir, env: { EXTRA: id }, gpus: options.gpus ?? 0, logPath: join(dir, "logs", `${id}.log`), dependsOn: options.deps ?? [] };
}

const seen = (id: string) => JSON.parse(readFileSync(join(dir, `${id}.json`), "utf8")) as { t0: number; t1: number; cuda: string; omp: string; extra: string };

test("a failed step cancels its dependents only; the rest run in dependency order", async () => {
  const updates: StepUpdate[] = [];
  const executor = new LocalExecutor({ gpus: [], cpuParallel: 2 });
  const results = await executor.run(
    [job("a"), job("b", { deps: ["a"] }), job("bad", { code: 3 }), job("after-bad", { deps: ["bad"] }), job("after-after", { deps: ["after-bad"] })],
    (u) => updates.push(u),
    new AbortController().signal,
  );
  assert.equal(results.get("a")!.state, "done");
  assert.equal(results.get("b")!.state, "done");
  assert.equal(results.get("bad")!.state, "failed");
  assert.equal(results.get("bad")!.exitCode, 3);
  assert.equal(results.get("after-bad")!.state, "cancelled");
  assert.match(results.get("after-bad")!.reason!, /dependency bad failed/);
  assert.equal(results.get("after-after")!.state, "cancelled");
  assert.ok(seen("b").t0 >= seen("a").t1, "b started after a finished");
  assert.equal(seen("a").extra, "a");
  assert.equal(seen("a").cuda, "", "CPU steps see no GPU");
  assert.equal(seen("a").omp, process.env["OMP_NUM_THREADS"] ?? String(Math.max(1, Math.floor(availableParallelism() / 2))), "CPU threads split between side-by-side steps");
  assert.ok(updates.some((u) => u.id === "a" && u.state === "running" && u.externalId !== undefined));
});

test("GPU steps get distinct GPUs and wait for free ones; CPU steps stay within the limit", async () => {
  const executor = new LocalExecutor({ gpus: ["3", "5"], cpuParallel: 1 });
  const results = await executor.run(
    [job("g1", { gpus: 1, sleep: 400 }), job("g2", { gpus: 1, sleep: 400 }), job("g3", { gpus: 2 }), job("c1", { sleep: 300 }), job("c2", { sleep: 300 }), job("too-big", { gpus: 3 })],
    () => {},
    new AbortController().signal,
  );
  assert.equal(results.get("too-big")!.state, "failed");
  assert.match(results.get("too-big")!.reason!, /needs 3 GPU/);
  for (const id of ["g1", "g2", "g3", "c1", "c2"]) assert.equal(results.get(id)!.state, "done", id);
  assert.deepEqual([seen("g1").cuda, seen("g2").cuda].sort(), ["3", "5"]);
  assert.equal(seen("g3").cuda, "3,5");
  assert.ok(seen("g3").t0 >= Math.max(seen("g1").t1, seen("g2").t1), "the 2-GPU step waited for both");
  const [first, second] = [seen("c1"), seen("c2")].sort((x, y) => x.t0 - y.t0);
  assert.ok(second!.t0 >= first!.t1, "one CPU step at a time");
});

test("a step that needs more GPUs than the machine has fails and cancels the steps after it", async () => {
  // The GPU step comes first, so it is failed before its dependent is looked at.
  const executor = new LocalExecutor({ gpus: [], cpuParallel: 1 });
  const results = await executor.run([job("on-gpu", { gpus: 1 }), job("after-gpu", { deps: ["on-gpu"] }), job("cpu-alone")], () => {}, new AbortController().signal);
  assert.equal(results.get("on-gpu")!.state, "failed");
  assert.match(results.get("on-gpu")!.reason!, /needs 1 GPU\(s\); this machine offers 0/);
  assert.equal(results.get("after-gpu")!.state, "cancelled");
  assert.match(results.get("after-gpu")!.reason!, /dependency on-gpu failed/);
  assert.equal(results.get("cpu-alone")!.state, "done");
});
