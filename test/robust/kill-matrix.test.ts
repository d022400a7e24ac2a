/**
 * The kill matrix: SIGINT, SIGTERM and SIGKILL at seeded random points of convert, compile, mix,
 * translate (openai backend against a loopback server, engine backend with the tiny model), clean,
 * train, generate and merge. For each command: one uninterrupted run gives the reference; then the
 * same command is interrupted three times in a row (SIGINT, then SIGTERM, then SIGKILL), each time
 * at a point drawn from a seeded generator, and run a last time to completion. Checked:
 * - SIGINT and SIGTERM end with 130 and 143, without an output or a temporary file;
 * - no engine process outlives the kielo that started it (also after SIGKILL);
 * - the last run completes, leaves no temporary file (a SIGKILLed run's leftovers are removed by
 *   it) and its output equals the reference byte for byte (timestamps in manifests aside).
 *
 * Points are cheap to reach and land inside the work: a point is "the work has visibly started"
 * (the output's temporary exists, a progress line, a training step, a cached segment) plus a seeded
 * fraction of the reference run's remaining time. A run that finishes before its signal (or
 * completes while it arrives) is retried with half the delay. KIELO_KILL_SEED picks another seed.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { seededRandom } from "../../src/util/random.ts";
import { startDeeplServer, type DeeplServer } from "../translate/helpers/deepl-server.ts";
import { loadFixtureSet } from "../translate/helpers/fixture-records.ts";
import { dataFixtures, examples, finish, processesWith, start, temporaries, tempDir, tinyModel, type Result } from "./helpers.ts";

const SEED = Number(process.env["KIELO_KILL_SEED"] ?? 20261204);
const random = seededRandom(SEED);
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "host";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Watch {
  child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
}

interface Subject {
  name: string;
  /** The command line writing into `out` (a folder of its own per run). */
  args(out: string): string[];
  /** Outputs to compare, relative to `out`. */
  outputs: string[];
  /** What to remove to run from nothing again (default: the outputs). */
  restart?: string[];
  /** Resolves when the work has visibly started. */
  started(out: string, watch: Watch): Promise<void>;
  /** A substring of the command line of the engine processes this command starts. */
  engine?(out: string, cliPid: number): string;
  /** Per-run state that must not carry over from the reference (a translation cache). */
  env?(out: string): Record<string, string>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

async function until(what: string, condition: () => boolean, child: ChildProcess, timeoutMs = 300_000): Promise<void> {
  const startedAt = Date.now();
  while (!condition()) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The output's temporary, as this very process names it (`.name.tmp-<host>-<pid>-…`). */
const hasTemporary = (dir: string, name: string, pid: number) => () =>
  existsSync(dir) && readdirSync(dir).some((entry) => entry.startsWith(`.${name}.tmp-${HOST}-${pid}-`));

function run(subject: Subject, out: string): { watch: Watch; done: Promise<Result> } {
  const child = start(subject.args(out), { cwd: out, env: { KIELO_DB: join(out, "kielo.db"), ...subject.env?.(out) } });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { watch: { child, stderr: () => stderr }, done: finish(child) };
}

/** Files under `path` (or `path` itself) → bytes; JSON manifests without their creation time. */
function snapshot(base: string, paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const add = (path: string): void => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) add(join(path, entry));
      return;
    }
    let text = readFileSync(path).toString("base64");
    if (/manifest\.json$/.test(path)) {
      const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      delete json["created_at"];
      text = JSON.stringify(json);
    }
    out.set(relative(base, path), text);
  };
  for (const path of paths) add(join(base, path));
  return out;
}

const EXPECTED: Record<string, { code: number | null; signal: NodeJS.Signals | null }> = {
  SIGINT: { code: 130, signal: null },
  SIGTERM: { code: 143, signal: null },
  SIGKILL: { code: null, signal: "SIGKILL" },
};

/** Runs the matrix of one command; returns the reference run's folder. */
async function matrix(subject: Subject, log: (line: string) => void): Promise<string> {
  const began = Date.now();
  try {
    return await matrixOf(subject, log);
  } finally {
    log(`${subject.name}: ${((Date.now() - began) / 1000).toFixed(1)} s in all`);
  }
}

async function matrixOf(subject: Subject, log: (line: string) => void): Promise<string> {
  const dir = tempDir(`kill-${subject.name.replace(/\W+/g, "-")}`);
  const refOut = join(dir, "ref");
  const out = join(dir, "run");
  for (const d of [refOut, out]) mkdirSync(d);
  await subject.setup?.();
  try {
    // The reference, and how long its work takes once visibly started.
    const spawned = Date.now();
    const reference = run(subject, refOut);
    await subject.started(refOut, reference.watch);
    const startedAfter = Date.now() - spawned;
    const ref = await reference.done;
    const work = Math.max(50, Date.now() - spawned - startedAfter);
    assert.equal(ref.code, 0, `${subject.name} reference: ${ref.stderr}`);
    const expected = snapshot(refOut, subject.outputs);

    const pids: number[] = [];
    for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
      let fraction = 0.05 + 0.45 * random.next();
      for (let attempt = 1; ; attempt++) {
        const attemptRun = run(subject, out);
        pids.push(attemptRun.watch.child.pid!);
        await subject.started(out, attemptRun.watch);
        const delay = Math.round(fraction * work);
        await sleep(delay);
        const stillRunning = attemptRun.watch.child.exitCode === null && attemptRun.watch.child.signalCode === null;
        if (stillRunning) attemptRun.watch.child.kill(signal);
        const result = await attemptRun.done;
        // Finished before the signal, or while it arrived (a training run at its last step completes
        // it; a process already exiting dies of the signal; a command that placed its outputs and was
        // closing its run record exits 130/143): the output is complete; try again, earlier.
        const completed = subject.outputs.every((path) => existsSync(join(out, path)));
        const interruptedCode = result.code !== null && result.code === EXPECTED[signal]?.code;
        if (!stillRunning || result.code === 0 || ((result.signal === signal || interruptedCode) && completed)) {
          assert.ok(result.code === 0 || result.signal === signal || interruptedCode, result.stderr);
          const got = snapshot(out, subject.outputs);
          for (const [path, bytes] of expected) assert.ok(got.get(path) === bytes, `${subject.name} ${signal}: ${path} is complete but differs from the uninterrupted run`);
          log(`${subject.name}: finished before ${signal} (${delay} ms); again with half the delay`);
          // Halving from 5–50 % of the reference's work: the seventh try comes within 0.4–4 % of it.
          // A reference slowed by a busy machine (clean: 1,298 ms, then done within 37 ms) needs more than four.
          assert.ok(attempt < 7, `${subject.name}: finished before ${signal} seven times`);
          fraction /= 2;
          // Start over from nothing (the finished run's output is complete).
          for (const path of subject.restart ?? subject.outputs) rmSync(join(out, path), { recursive: true, force: true });
          continue;
        }
        log(`${subject.name}: ${signal} after ${delay} ms of ${work} ms of work${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
        assert.deepEqual({ code: result.code, signal: result.signal }, EXPECTED[signal], `${subject.name} ${signal}: ${result.stderr}`);
        if (signal !== "SIGKILL") {
          assert.doesNotMatch(result.stderr, /internal error|\n\s+at .*:\d+:\d+/, `${subject.name} ${signal}`);
          assert.deepEqual(temporaries(out), [], `${subject.name} ${signal}: temporaries left`);
        }
        if (subject.engine) {
          const needle = subject.engine(out, attemptRun.watch.child.pid!);
          const since = Date.now();
          while (processesWith(needle).length > 0 && Date.now() - since < 10_000) await sleep(100);
          assert.deepEqual(processesWith(needle), [], `${subject.name} ${signal}: an engine process outlived kielo`);
        }
        break;
      }
    }

    const last = run(subject, out);
    const final = await last.done;
    pids.push(last.watch.child.pid!);
    assert.equal(final.code, 0, `${subject.name} final run: ${final.stderr}`);
    assert.deepEqual(temporaries(out), [], `${subject.name}: temporaries left after the final run`);
    const leftovers = readdirSync(tmpdir()).filter((entry) => pids.some((pid) => entry.startsWith(`kielo-generate-${HOST}-${pid}-`)));
    assert.deepEqual(leftovers, [], `${subject.name}: engine work folders left in ${tmpdir()}`);
    const actual = snapshot(out, subject.outputs);
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${subject.name}: output files`);
    for (const [path, bytes] of expected) assert.ok(actual.get(path) === bytes, `${subject.name}: ${path} differs from the uninterrupted run`);
    return refOut;
  } finally {
    await subject.teardown?.();
  }
}

// ---- inputs ---------------------------------------------------------------------------------------

const work = tempDir("kill-inputs");
/** 4,000 real Dolly rows (the 8 of the fixture, with fresh ids). */
const dollyRows = readFileSync(join(dataFixtures, "dolly/dolly_en_fi_first8.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
const dolly = join(work, "dolly.jsonl");
writeFileSync(dolly, Array.from({ length: 4000 }, (_, i) => JSON.stringify({ ...dollyRows[i % 8], id: `dolly:${i}` })).join("\n") + "\n");
/** The first 1,000 as kielo records. */
const records = join(work, "records.jsonl");
writeFileSync(
  records,
  Array.from({ length: 1000 }, (_, i) => {
    const row = dollyRows[i % 8]!;
    const user = row["context"] ? `${String(row["instruction"])}\n\n${String(row["context"])}` : String(row["instruction"]);
    return JSON.stringify({ kind: "conversation", id: `dolly:${i}`, lang: "en", messages: [{ role: "user", content: user }, { role: "assistant", content: row["response"] }], meta: {} });
  }).join("\n") + "\n",
);
const translateSet = loadFixtureSet();
const english = join(work, "en.jsonl");
writeFileSync(english, translateSet.english.map((r) => JSON.stringify(r)).join("\n") + "\n");
const sftRows = readFileSync(join(examples, "sft-fi.jsonl"), "utf8").trim().split("\n");
const shortEnglish = join(work, "short-en.jsonl");
writeFileSync(shortEnglish, translateSet.english.slice(0, 2).map((r) => JSON.stringify(r)).join("\n") + "\n");
const recipe = join(work, "recipe.yaml");
writeFileSync(join(work, "sft.jsonl"), `${sftRows.slice(0, 24).join("\n")}\n`);
writeFileSync(
  recipe,
  `method: sft\nmodel: ${tinyModel}\ndtype: fp32\ndata:\n  train: sft.jsonl\n  template: llama-2\n  max_length: 128\nadapter:\n  type: lora\n  r: 4\n  alpha: 8\n  dropout: 0.0\n` +
    `training:\n  epochs: 1\n  micro_batch_size: 2\n  global_batch_size: 4\n  lr: 1.0e-3\n  save_every_steps: 2\n  seed: 7\n`,
);
let server: DeeplServer | undefined;

const subjects: Subject[] = [
  {
    name: "convert",
    args: (out) => ["data", "convert", dolly, "--format", "dolly", "--out", join(out, "records.jsonl"), "--quiet"],
    outputs: ["records.jsonl"],
    started: (out, w) => until("the output's temporary", hasTemporary(out, "records.jsonl", w.child.pid!), w.child),
  },
  {
    name: "compile",
    args: (out) => ["data", "compile", records, "--tokenizer", tinyModel, "--template", "llama-2", "--policy", "assistant", "--pack", "512", "--truncation", "keep-start", "--out", join(out, "compiled"), "--quiet"],
    outputs: ["compiled"],
    started: (out, w) => until("the output's temporary folder", hasTemporary(out, "compiled", w.child.pid!), w.child),
  },
  {
    name: "mix",
    args: (out) => ["mix", "--base", records, "--add", records, "--fraction", "0.5", "--seed", "3", "--out", join(out, "mix.jsonl"), "--quiet"],
    outputs: ["mix.jsonl", "mix.manifest.json"],
    started: (out, w) => until("the mix's temporary", hasTemporary(out, "mix.jsonl", w.child.pid!), w.child),
  },
  {
    name: "clean",
    args: (out) => ["clean", records, "--lang", "en", "--rules", "empty,wrong-language,repetition,scaffolding", "--out", join(out, "clean.jsonl"), "--report", join(out, "report.json")],
    outputs: ["clean.jsonl"],
    started: (_out, w) => until("the first progress line", () => /clean: \d/.test(w.stderr()), w.child),
  },
  {
    name: "translate (openai backend, loopback server)",
    setup: async () => {
      server = await startDeeplServer(translateSet.pairs, { delayMs: 15 });
    },
    teardown: async () => server?.close(),
    args: (out) => ["translate", english, "--to", "fi", "--out", join(out, "fi.jsonl"), "--model", "deepl-replay", "--base-url", server!.url, "--concurrency", "2", "--db", join(out, "cache.db"), "--quiet"],
    env: () => ({ OPENAI_API_KEY: "", KIELO_API_KEY: "" }),
    outputs: ["fi.jsonl"],
    restart: ["fi.jsonl", "cache.db", "cache.db-wal", "cache.db-shm"],
    started: (out, w) => {
      const before = cached(join(out, "cache.db"));
      return until("a newly cached segment", () => cached(join(out, "cache.db")) > before, w.child);
    },
  },
  {
    name: "translate (engine backend, tiny model)",
    args: (out) => ["translate", shortEnglish, "--to", "fi", "--out", join(out, "fi.jsonl"), "--backend", "engine", "--model", tinyModel, "--device", "cpu", "--batch-size", "1", "--chunk-size", "64", "--max-tokens", "12", "--db", join(out, "cache.db"), "--quiet"],
    outputs: ["fi.jsonl"],
    restart: ["fi.jsonl", "cache.db", "cache.db-wal", "cache.db-shm"],
    started: (_out, w) => until("the engine", () => processesWith(`kielo-generate-${HOST}-${w.child.pid}-`).length > 0, w.child),
    engine: (_out, pid) => `kielo-generate-${HOST}-${pid}-`,
  },
  {
    name: "train (LoRA, tiny model)",
    args: (out) => ["train", "sft", recipe, "--out", join(out, "job"), "--quiet"],
    outputs: ["job/model"],
    restart: ["job"],
    started: (out, w) => {
      const before = steps(join(out, "job"));
      return until("a training step of this run", () => steps(join(out, "job")) > before, w.child);
    },
    engine: (out) => join(out, "job"),
  },
  {
    name: "generate (tiny model)",
    args: (out) => ["generate", "--model", tinyModel, "--template", "llama-2", "--prompts", join(examples, "prompts-fi.jsonl"), "--max-new-tokens", "48", "--batch-size", "2", "--device", "cpu", "--out", join(out, "answers.jsonl")],
    outputs: ["answers.jsonl"],
    started: (_out, w) => until("the engine", () => processesWith(`kielo-generate-${HOST}-${w.child.pid}-`).length > 0, w.child),
    engine: (_out, pid) => `kielo-generate-${HOST}-${pid}-`,
  },
  {
    name: "merge (tiny model + adapter)",
    args: (out) => ["merge", adapter, "--dtype", "fp32", "--out", join(out, "merged")],
    outputs: ["merged"],
    // The engine's own arguments (kielo's command line also names the output folder, and a signal
    // that reaches kielo before its handlers are installed kills it outright).
    started: (out, w) => until("the engine", () => processesWith(mergeEngine(out)).length > 0, w.child),
    engine: (out) => mergeEngine(out),
  },
];
/** The adapter the train subject's reference run wrote (merge runs after train). */
let adapter = "";
/** What only the merge engine's command line holds (`… kielo_engine merge --base B --adapter A --out O …`). */
const mergeEngine = (out: string): string => `--adapter ${adapter} --out ${join(out, "merged")}`;

function cached(db: string): number {
  if (!existsSync(db)) return 0;
  try {
    const store = new DatabaseSync(db, { readOnly: true });
    try {
      return (store.prepare("SELECT count(*) AS n FROM translations").get() as { n: number }).n;
    } finally {
      store.close();
    }
  } catch {
    return 0; // not created yet
  }
}

function steps(jobDir: string): number {
  const path = join(jobDir, "events.jsonl");
  return existsSync(path) ? readFileSync(path, "utf8").split('"type": "step"').length - 1 : 0;
}

test(`kill matrix (seed ${SEED})`, { concurrency: 2 }, async (t) => {
  const log = (line: string) => t.diagnostic(line);
  const byName = (prefix: string) => subjects.find((s) => s.name.startsWith(prefix))!;
  await Promise.all([
    t.test("train, then merge its adapter", async () => {
      adapter = join(await matrix(byName("train"), log), "job", "model");
      await matrix(byName("merge"), log);
    }),
    t.test("the other commands", async () => {
      for (const subject of subjects.filter((s) => !/^(train|merge)/.test(s.name))) await matrix(subject, log);
    }),
  ]);
});
