/**
 * `node scripts/bench-compile-memory.ts`: peak memory (RSS) and time of `kielo data compile` as the
 * dataset grows, and on one very long row — the numbers behind "memory flat in dataset size".
 *
 * Data: the Dolly fixture's conversations repeated with fresh ids to 1×, 4× and 16× --rows
 * (default 2,000); then --big-mb (default 50) MB of real text in a single row. Peak RSS is read
 * from /proc/<pid>/status (VmHWM, Linux) while the compile runs. Tokenizer: Qwen3 (fixtures).
 *
 * Options: --rows N, --big-mb N (0 skips the long row).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values } = parseArgs({ options: { rows: { type: "string", default: "2000" }, "big-mb": { type: "string", default: "50" } } });
const baseRows = Number(values.rows);
const bigMb = Number(values["big-mb"]);
const dir = mkdtempSync(join(tmpdir(), "kielo-bench-memory-"));
const base = readFileSync(join(root, "test/fixtures/chat/dolly-en-fi.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

function peakKiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

async function compile(records: string): Promise<{ seconds: number; peakMiB: number; tokens: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, "bin/kielo.js"), "data", "compile", records, "--tokenizer", join(root, "fixtures/tokenizers/qwen3"), "--out", join(dir, "out"), "--force", "--quiet"], {
    env: { ...process.env, KIELO_DB: join(dir, "kielo.db") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, peakKiB(child.pid!))), 50);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`compile failed (${code})`);
  const tokens = Number(/tokens ([\d,]+)/.exec(stdout)?.[1]?.replaceAll(",", "") ?? 0);
  return { seconds: (performance.now() - started) / 1000, peakMiB: peak / 1024, tokens };
}

const lines: string[] = [];
for (const factor of [1, 4, 16]) {
  const path = join(dir, `rows-${factor}.jsonl`);
  const n = baseRows * factor;
  writeFileSync(path, Array.from({ length: n }, (_, i) => JSON.stringify({ ...base[i % base.length], id: `r${i}` })).join("\n") + "\n");
  const r = await compile(path);
  lines.push(`${String(n).padStart(8)} rows  ${r.tokens.toLocaleString("en-US").padStart(12)} tokens  ${r.seconds.toFixed(1).padStart(6)} s  peak RSS ${r.peakMiB.toFixed(0).padStart(5)} MiB`);
  rmSync(path);
}
if (bigMb > 0) {
  const words = base.map((r) => ((r as { messages: { content: string }[] }).messages.at(-1)!.content)).join(" ");
  let text = "";
  while (text.length < (bigMb * 1e6) / 2) text += `${words}\n`;
  const path = join(dir, "long-row.jsonl");
  writeFileSync(path, `${JSON.stringify({ kind: "conversation", id: "long", messages: [{ role: "user", content: text }, { role: "assistant", content: text }], meta: {} })}\n`);
  const size = readFileSync(path).length;
  const r = await compile(path);
  lines.push(`one ${(size / 1e6).toFixed(0)} MB row  ${r.tokens.toLocaleString("en-US").padStart(12)} tokens  ${r.seconds.toFixed(1).padStart(6)} s  peak RSS ${r.peakMiB.toFixed(0).padStart(5)} MiB`);
}
rmSync(dir, { recursive: true, force: true });
console.log(`kielo data compile, peak memory by dataset size (Qwen3 tokenizer, policy all)\n${lines.join("\n")}`);
