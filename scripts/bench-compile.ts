/**
 * `npm run bench:compile`: compile throughput next to bare `tokenizers` encode throughput, on the
 * same text in the same run.
 *
 * Data: the Dolly fixture (English + Finnish, test/fixtures/chat/dolly-en-fi.jsonl) repeated with
 * fresh ids to about 2M tokens. Bare encode: `encodeBatch` (batches of 256, no special tokens added)
 * over the exact texts the compiler tokenises (the rendered conversations). Compile: the whole
 * pipeline — reading and validating JSONL, rendering the chat template (and the prefix renders of
 * policy `assistant`), encoding, marking trained flags, writing the folder.
 *
 * Printed per run: wall seconds and tokens/s (the goal: compile ≥ half of bare encode), and the CPU
 * seconds of this process (all threads), which stay meaningful when other work shares the machine.
 *
 * Each measurement is repeated (--reps, default 2; bare and compile alternate) and the fastest kept,
 * which filters out moments when other processes took the CPUs.
 *
 * Options: --tokens N (default 2000000), --tokenizer qwen3|llama3 (default both), --reps N.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadChatTemplate } from "../src/chat/chat-template.ts";
import { compileFolder } from "../src/compile/compile-folder.ts";
import type { Policy } from "../src/compile/manifest.ts";
import type { Conversation } from "../src/data/records.ts";
import { loadTokenizer, type LoadedTokenizer } from "../src/tokenize/tokenizer-folder.ts";
import { formatRate } from "../src/util/progress.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const { values } = parseArgs({
  options: { tokens: { type: "string", default: "2000000" }, tokenizer: { type: "string" }, reps: { type: "string", default: "2" } },
});
const reps = Number(values.reps);
const targetTokens = Number(values.tokens);
const tokenizers = values.tokenizer ? [values.tokenizer] : ["qwen3", "llama3"];

const base = readFileSync(join(root, "test/fixtures/chat/dolly-en-fi.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as Conversation);

/** CPU seconds (user + system, all threads) of this process since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

async function bareEncode(tok: LoadedTokenizer, texts: string[]): Promise<{ tokens: number; seconds: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let tokens = 0;
  for (let i = 0; i < texts.length; i += 256) {
    const encodings = await tok.tokenizer.encodeBatch(texts.slice(i, i + 256), { addSpecialTokens: false });
    for (const e of encodings) tokens += e.getLength();
  }
  return { tokens, seconds: (performance.now() - started) / 1000, cpu: cpuSeconds(cpu) };
}

interface Row {
  tokenizer: string;
  what: string;
  tokens: number;
  seconds: number;
  cpu: number;
}

const rows: Row[] = [];
const work = mkdtempSync(join(tmpdir(), "kielo-bench-"));
try {
  for (const name of tokenizers) {
    const tok = loadTokenizer(join(root, "fixtures/tokenizers", name));
    const template = loadChatTemplate(undefined, tok);
    // Repeat the fixture until the rendered text reaches the token target.
    const sample = await bareEncode(tok, base.map((r) => template.render(r.messages)));
    const copies = Math.max(1, Math.round(targetTokens / sample.tokens));
    const records: Conversation[] = [];
    for (let c = 0; c < copies; c++) for (const r of base) records.push({ ...r, id: `${r.id}-${c}` });
    const source = join(work, `${name}.jsonl`);
    writeFileSync(source, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const texts = records.map((r) => template.render(r.messages));

    const best = new Map<string, Row>();
    const keep = (row: Row): void => {
      const seen = best.get(row.what);
      if (seen === undefined || row.seconds < seen.seconds) best.set(row.what, row);
    };
    for (let rep = 0; rep < reps; rep++) {
      const bare = await bareEncode(tok, texts);
      keep({ tokenizer: name, what: "bare encodeBatch", ...bare });
      for (const policy of ["all", "assistant"] as Policy[]) {
        const out = join(work, `${name}-${policy}`);
        const cpu = process.cpuUsage();
        const started = performance.now();
        const result = await compileFolder(source, tok, out, { policy, maxLength: null, truncation: "drop", pack: null, force: true });
        const seconds = (performance.now() - started) / 1000;
        if (result.manifest.tokens !== bare.tokens) throw new Error(`compile produced ${result.manifest.tokens} tokens, bare encode ${bare.tokens}`);
        keep({ tokenizer: name, what: `compile --policy ${policy}`, tokens: result.manifest.tokens, seconds, cpu: cpuSeconds(cpu) });
      }
    }
    rows.push(...best.values());
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const header = ["tokenizer", "what", "tokens", "seconds", "tokens/s", "vs bare", "CPU s", "tokens/CPU s"];
const table = rows.map((r) => {
  const bare = rows.find((b) => b.tokenizer === r.tokenizer && b.what === "bare encodeBatch")!;
  const rate = r.tokens / r.seconds;
  return [r.tokenizer, r.what, r.tokens.toLocaleString("en-US"), r.seconds.toFixed(2), formatRate(rate), `${((100 * rate) / (bare.tokens / bare.seconds)).toFixed(0)}%`, r.cpu.toFixed(2), formatRate(r.tokens / r.cpu)];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
console.log(`kielo compile benchmark — ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}`);
console.log(line(header));
console.log(line(widths.map((w) => "-".repeat(w))));
for (const row of table) console.log(line(row));
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} — wall-clock rates drop when other processes share the CPUs; CPU seconds count this process only`);
