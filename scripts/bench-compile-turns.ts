/**
 * `node scripts/bench-compile-turns.ts`: time and peak memory of `kielo data compile` against the
 * number of turns in one conversation, and how fast a busy compile ends on SIGINT and SIGTERM — the
 * numbers behind "compile time linear in turns" and "a busy compile obeys Ctrl-C" (issue 10).
 *
 * Turns: one row whose conversation has N turns (user and assistant alternating, short Finnish text
 * with an emoji, as test/compile/streaming.test.ts builds them), compiled by the real CLI under
 * `/usr/bin/time -v` (Linux; its "Maximum resident set size" is the peak RSS) with --policy all
 * and --policy assistant (the one that renders a prefix per assistant turn). CPU seconds (user +
 * system, as GNU time counts them) stay meaningful when other work shares the machine.
 *
 * Signals: 8 rows of 10,000 turns; the signal is sent 300 ms after the compile's temporary folder
 * appears (the compile is rendering rows); printed is the time from the signal to the exit, the
 * exit code and whether a temporary was left.
 *
 * Options: --turns 500,1000,2000,10000, --signal-reps N (default 3; 0 skips the signal runs).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values } = parseArgs({ options: { turns: { type: "string", default: "500,1000,2000,10000" }, "signal-reps": { type: "string", default: "3" } } });
const turnCounts = values.turns.split(",").map(Number);
const signalReps = Number(values["signal-reps"]);
const time = "/usr/bin/time";
if (!existsSync(time)) throw new Error(`${time} is missing: install GNU time (apt-get install time) to measure peak RSS`);
const dir = mkdtempSync(join(tmpdir(), "kielo-bench-turns-"));

function conversation(id: string, turns: number): string {
  const messages = Array.from({ length: turns }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `vuoro ${i}: hei maailma 🙂` }));
  return JSON.stringify({ kind: "conversation", id, messages, meta: {} });
}

function compileArgs(records: string, out: string, policy: string): string[] {
  return [join(root, "bin/kielo.js"), "data", "compile", records, "--tokenizer", join(root, "fixtures/tokenizers/qwen3"), "--policy", policy, "--out", out, "--force", "--quiet"];
}

/** One compile under /usr/bin/time -v: wall seconds and peak RSS as GNU time reports them. */
async function timed(records: string, policy: string): Promise<{ seconds: number; cpu: number; peakMiB: number; tokens: number }> {
  const child = spawn(time, ["-v", process.execPath, ...compileArgs(records, join(dir, "out"), policy)], {
    env: { ...process.env, KIELO_DB: join(dir, "kielo.db") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`compile of ${records} failed (${code}):\n${stderr}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  if (!wall || !rss || !user || !system) throw new Error(`no timing in /usr/bin/time's output:\n${stderr}`);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { seconds, cpu: Number(user[1]) + Number(system[1]), peakMiB: Number(rss[1]) / 1024, tokens: Number(/tokens ([\d,]+)/.exec(stdout)?.[1]?.replaceAll(",", "") ?? 0) };
}

/** Signal a compile of 8 × 10,000-turn rows once it is busy; seconds from the signal to its exit. */
async function signalBusy(signal: "SIGINT" | "SIGTERM"): Promise<{ code: number | null; seconds: number; left: number }> {
  const work = mkdtempSync(join(dir, "signal-"));
  const records = join(work, "long.jsonl");
  writeFileSync(records, Array.from({ length: 8 }, (_, i) => conversation(`long-${i}`, 10_000)).join("\n") + "\n");
  const child = spawn(process.execPath, compileArgs(records, join(work, "c"), "assistant"), { env: { ...process.env, KIELO_DB: join(work, "kielo.db") }, stdio: "ignore" });
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  while (!readdirSync(work).some((entry) => entry.startsWith(".c.tmp-")) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  const signalled = performance.now();
  child.kill(signal);
  const code = await closed;
  return { code, seconds: (performance.now() - signalled) / 1000, left: readdirSync(work).filter((entry) => entry.includes(".tmp-")).length };
}

const lines: string[] = [];
try {
  for (const turns of turnCounts) {
    const records = join(dir, `turns-${turns}.jsonl`);
    writeFileSync(records, conversation(`t${turns}`, turns) + "\n");
    for (const policy of ["all", "assistant"]) {
      const r = await timed(records, policy);
      lines.push(`${String(turns).padStart(6)} turns  --policy ${policy.padEnd(9)}  ${r.tokens.toLocaleString("en-US").padStart(9)} tokens  ${r.seconds.toFixed(2).padStart(6)} s  CPU ${r.cpu.toFixed(2).padStart(6)} s  peak RSS ${r.peakMiB.toFixed(0).padStart(5)} MiB`);
      console.error(lines.at(-1));
    }
  }
  for (let rep = 0; rep < signalReps; rep++) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const r = await signalBusy(signal);
      lines.push(`${signal.padEnd(7)} during a busy compile (8 × 10,000 turns): exit ${r.code} after ${r.seconds.toFixed(2)} s, temporaries left ${r.left}`);
      console.error(lines.at(-1));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`kielo data compile by turns per conversation (Qwen3 tokenizer, one row) — ${cpus().length} CPUs, Node ${process.version}, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(" ")}\n${lines.join("\n")}`);
