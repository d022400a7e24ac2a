/**
 * Cleaning quality on real data (`npm run bench:clean`).
 *
 * Builds a set of real Finnish translations (DeepL output of Dolly and OpenAssistant rows, in
 * test/fixtures/translate) shaped like `kielo translate` output, corrupts a seeded share of them
 * in known ways — truncated, left in English (whole or partly), generation loops, wrong language
 * (real French/Spanish text), leaked prompt scaffolding, empty, code blocks lost or altered — and
 * runs `kielo clean` on the whole set. Real DeepL rows with real defects — code blocks or inline
 * code/URLs DeepL altered, messages it left untranslated (oasst1's "English" split has a few
 * Spanish messages) — are found with independent plain checks and reported as their own types. Prints the confusion table per corruption type and
 * fails (exit 1) unless ≥ 95 % of corrupted rows are dropped and ≤ 2 % of uncorrupted ones are.
 *
 * Usage: node scripts/clean-quality.ts [--seed N] [--json]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateFile, type RecordVerdict } from "../src/clean/clean.ts";
import { loadCleanConfig } from "../src/clean/config.ts";
import { builtinScaffolding } from "../src/translate/prompt.ts";
import { toJsonl } from "../src/data/jsonl.ts";
import type { Conversation } from "../src/data/records.ts";
import { seededRandom, shuffleInPlace, type Random } from "../src/util/random.ts";
import { fencedCodeBlocks } from "../src/text/fences.ts";

export const CORRUPTIONS = ["truncated", "untranslated", "repetition", "wrong-language", "scaffolding", "empty", "code-block"] as const;
export type Corruption =
  | (typeof CORRUPTIONS)[number]
  | "code-block (real DeepL)"
  | "inline-code/URL (real DeepL)"
  | "untranslated (real DeepL)"
  | "none";

/**
 * Spans DeepL must have kept verbatim. Found here with plain regexes of their own (not kielo's
 * protection code): inline code and URLs of the English that are missing from the Finnish are
 * real defects of the reference translation, labelled as such instead of "none".
 */
function realDefect(en: string, fi: string): Corruption {
  if (en === fi && en.split(/\s+/).length >= 8) return "untranslated (real DeepL)";
  return lostVerbatimSpans(en, fi) ? "inline-code/URL (real DeepL)" : "none";
}

function lostVerbatimSpans(en: string, fi: string): boolean {
  const prose = en.replace(/```[\s\S]*?```/g, " ");
  const spans = [...(prose.match(/`[^`\n]+`/g) ?? []), ...(prose.match(/https?:\/\/[^\s)\]]+[^\s.,;:!?)\]]/g) ?? [])];
  return spans.some((span) => !fi.includes(span));
}

const FIXTURES = fileURLToPath(new URL("../test/fixtures/translate/", import.meta.url));

interface Item {
  target: Conversation;
  label: Corruption;
}

interface OasstRow { message_id: string; role: string; text: string; text_en: string }
interface DollyRow { id: string; instruction: string; context: string; response: string; instruction_fi: string; context_fi: string; response_fi: string }

function readLines<T>(name: string): T[] {
  return readFileSync(join(FIXTURES, name), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

/** A translated conversation as `kielo translate` writes it: Finnish text, English source in meta. */
function translated(id: string, english: { role: "user" | "assistant"; content: string }[], finnish: string[]): Conversation {
  return {
    kind: "conversation",
    id,
    lang: "fi",
    messages: english.map((message, i) => ({ role: message.role, content: finnish[i]! })),
    meta: { translation: { source_id: id, from: "en", to: "fi", model: "deepl", prompt_version: "-", source: { messages: english }, issues: [] } },
  };
}

const pick = <T>(items: readonly T[], random: Random): T => items[Math.floor(random.next() * items.length)]!;

function sentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+/).filter((s) => s.trim() !== "");
}

function cutAt(text: string, fraction: number): string {
  const at = Math.floor(text.length * fraction);
  const space = text.lastIndexOf(" ", at);
  return text.slice(0, space > 0 ? space : at);
}

/** Apply one corruption to a (Finnish target, English source) text. */
function corrupt(kind: (typeof CORRUPTIONS)[number], target: string, source: string, random: Random, foreign: readonly string[]): string {
  switch (kind) {
    case "truncated":
      return cutAt(target, 0.3 + 0.3 * random.next());
    case "untranslated": {
      if (random.next() < 0.4) return source;
      // Partly translated: the first half in Finnish, the rest left in English.
      const fi = sentences(target);
      const en = sentences(source);
      if (fi.length >= 2 && en.length >= 2) return [...fi.slice(0, Math.ceil(fi.length / 2)), ...en.slice(Math.ceil(en.length / 2))].join(" ");
      return source;
    }
    case "repetition": {
      const kept = cutAt(target, 0.5 + 0.3 * random.next());
      const parts = sentences(kept);
      const unit = parts.length > 1 ? parts[parts.length - 1]! : kept.split(" ").slice(-8).join(" ");
      const times = 5 + Math.floor(random.next() * 8);
      return `${kept} ${Array.from({ length: times }, () => unit).join(" ")}`;
    }
    case "wrong-language":
      return pick(foreign, random);
    case "scaffolding": {
      const variants = [
        (t: string) => `Finnish: ${t}`,
        (t: string) => `${t}\n</fi>`,
        (t: string) => `Käännös: ${t}`,
        (t: string) => `<fi>\n${t}`,
        (t: string) => `Translation:\n${t}`,
        (t: string) => `${t}\n</fi>\n\n<en>\n${source.slice(0, 80)}`,
      ];
      return pick(variants, random)(target);
    }
    case "empty":
      return "";
    case "code-block": {
      const block = fencedCodeBlocks(target)[0]!;
      const lines = block.split("\n");
      const variants = [
        () => target.replace(block, ""), // dropped
        () => target.replace(block, [...lines.slice(0, Math.max(1, Math.floor(lines.length / 2), lines.length - 2)), lines[lines.length - 1]!].join("\n")), // last code line lost
        () => target.replace(block, lines.slice(1, -1).join("\n")), // fences lost
      ];
      return pick(variants, random)();
    }
  }
}

export interface BenchSet {
  items: Item[];
}

export function buildBenchSet(seed = 1): BenchSet {
  const random = seededRandom(seed);
  const foreign = readLines<{ text: string }>("bench-other-languages.jsonl").map((row) => row.text);
  const base: Item[] = [];
  for (const row of readLines<DollyRow>("bench-dolly.jsonl")) {
    const user = (instruction: string, context: string) => (context === "" ? instruction : `${instruction}\n\n${context}`);
    base.push({
      label: [row.instruction, row.context, row.response].some((en, i) => lostVerbatimSpans(en, [row.instruction_fi, row.context_fi, row.response_fi][i]!))
        ? "inline-code/URL (real DeepL)"
        : "none",
      target: translated(
        row.id.replace(":", "-"),
        [
          { role: "user", content: user(row.instruction, row.context) },
          { role: "assistant", content: row.response },
        ],
        [user(row.instruction_fi, row.context_fi), row.response_fi],
      ),
    });
  }
  for (const row of readLines<OasstRow>("bench-oasst.jsonl")) {
    base.push({ label: realDefect(row.text_en, row.text), target: translated(`oasst-${row.message_id}`, [{ role: row.role === "prompter" ? "user" : "assistant", content: row.text_en }], [row.text]) });
  }
  const codeRows: Item[] = [];
  for (const row of readLines<OasstRow>("bench-oasst-code.jsonl")) {
    const sameCode = JSON.stringify(fencedCodeBlocks(row.text_en).map((b) => b.trim())) === JSON.stringify(fencedCodeBlocks(row.text).map((b) => b.trim()));
    codeRows.push({
      label: !sameCode ? "code-block (real DeepL)" : lostVerbatimSpans(row.text_en, row.text) ? "inline-code/URL (real DeepL)" : "none",
      target: translated(`oasst-${row.message_id}`, [{ role: row.role === "prompter" ? "user" : "assistant", content: row.text_en }], [row.text]),
    });
  }
  // Corrupt the longest message of eligible rows (both sides ≥ 80 characters), 25 rows per type.
  const eligible = shuffleInPlace(
    base.filter((item) => item.label === "none" && item.target.messages.some((m, i) => m.content.length >= 80 && sourceOf(item.target, i).length >= 80)),
    random,
  );
  const types = CORRUPTIONS.filter((kind) => kind !== "code-block");
  const perType = Math.min(25, Math.floor(eligible.length / (types.length + 2)));
  let next = 0;
  for (const kind of types) {
    for (let n = 0; n < perType; n++) corruptItem(eligible[next++]!, kind, random, foreign);
  }
  const cleanCode = shuffleInPlace(codeRows.filter((item) => item.label === "none" && fencedCodeBlocks(item.target.messages[0]!.content).length > 0), random);
  for (const item of cleanCode.slice(0, Math.floor(cleanCode.length / 2))) corruptItem(item, "code-block", random, foreign);
  return { items: [...base, ...codeRows] };
}

function sourceOf(target: Conversation, index: number): string {
  const source = (target.meta["translation"] as { source: { messages: { content: string }[] } }).source;
  return source.messages[index]!.content;
}

function corruptItem(item: Item, kind: (typeof CORRUPTIONS)[number], random: Random, foreign: readonly string[]): void {
  const messages = item.target.messages;
  let index = 0;
  for (const [i, message] of messages.entries()) {
    const better = kind === "code-block" ? fencedCodeBlocks(message.content).length > fencedCodeBlocks(messages[index]!.content).length : message.content.length > messages[index]!.content.length;
    if (better) index = i;
  }
  const message = messages[index]!;
  message.content = corrupt(kind, message.content, sourceOf(item.target, index), random, foreign);
  item.label = kind;
}

export interface BenchResult {
  table: { label: Corruption; rows: number; dropped: number; rules: Record<string, number> }[];
  corruptedRows: number;
  corruptedCaught: number;
  cleanRows: number;
  cleanDropped: number;
  catchRate: number;
  falseDropRate: number;
  falseDrops: RecordVerdict[];
  missed: { label: Corruption; id: string }[];
}

export async function runBench(seed = 1): Promise<BenchResult> {
  const { items } = buildBenchSet(seed);
  const dir = mkdtempSync(join(tmpdir(), "kielo-clean-bench-"));
  try {
    const file = join(dir, "bench.jsonl");
    writeFileSync(file, toJsonl(items.map((item) => item.target)));
    const { verdicts } = await evaluateFile({ input: file, config: loadCleanConfig(), scaffolding: builtinScaffolding, quiet: true });
    const labels = new Map(items.map((item) => [item.target.id, item.label]));
    const rows = new Map<Corruption, BenchResult["table"][number]>();
    const falseDrops: RecordVerdict[] = [];
    const missed: BenchResult["missed"] = [];
    for (const verdict of verdicts) {
      const label = labels.get(verdict.record.id)!;
      const row = rows.get(label) ?? { label, rows: 0, dropped: 0, rules: {} };
      rows.set(label, row);
      row.rows += 1;
      const dropped = verdict.findings.length > 0;
      if (dropped) row.dropped += 1;
      for (const rule of new Set(verdict.findings.map((finding) => finding.rule))) row.rules[rule] = (row.rules[rule] ?? 0) + 1;
      if (label === "none" && dropped) falseDrops.push(verdict);
      if (label !== "none" && !dropped) missed.push({ label, id: verdict.record.id });
    }
    const order: Corruption[] = ["none", ...CORRUPTIONS, "code-block (real DeepL)", "inline-code/URL (real DeepL)", "untranslated (real DeepL)"];
    const table = order.map((label) => rows.get(label)).filter((row) => row !== undefined);
    const corrupted = table.filter((row) => row.label !== "none");
    const corruptedRows = corrupted.reduce((sum, row) => sum + row.rows, 0);
    const corruptedCaught = corrupted.reduce((sum, row) => sum + row.dropped, 0);
    const clean = rows.get("none") ?? { rows: 0, dropped: 0 };
    return {
      table,
      corruptedRows,
      corruptedCaught,
      cleanRows: clean.rows,
      cleanDropped: clean.dropped,
      catchRate: corruptedCaught / Math.max(1, corruptedRows),
      falseDropRate: clean.dropped / Math.max(1, clean.rows),
      falseDrops,
      missed,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatBench(result: BenchResult): string {
  const rules = [...new Set(result.table.flatMap((row) => Object.keys(row.rules)))].sort();
  const header = ["corruption", "rows", "dropped", "kept", "caught %", ...rules];
  const lines = result.table.map((row) => [
    row.label,
    String(row.rows),
    String(row.dropped),
    String(row.rows - row.dropped),
    row.label === "none" ? `(${((100 * row.dropped) / row.rows).toFixed(1)} dropped)` : ((100 * row.dropped) / row.rows).toFixed(1),
    ...rules.map((rule) => String(row.rules[rule] ?? 0)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [
    format(header),
    format(widths.map((w) => "-".repeat(w))),
    ...lines.map(format),
    "",
    `corrupted rows caught: ${result.corruptedCaught}/${result.corruptedRows} = ${(100 * result.catchRate).toFixed(1)} % (needs ≥ 95 %)`,
    `uncorrupted rows dropped: ${result.cleanDropped}/${result.cleanRows} = ${(100 * result.falseDropRate).toFixed(1)} % (needs ≤ 2 %)`,
    "(rule columns: rows on which each rule fired; a row may break several)",
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seedAt = process.argv.indexOf("--seed");
  const seed = seedAt > 0 ? Number(process.argv[seedAt + 1]) : 1;
  const started = performance.now();
  const result = await runBench(seed);
  if (process.argv.includes("--json")) {
    process.stdout.write(`${JSON.stringify({ ...result, falseDrops: result.falseDrops.map((v) => ({ id: v.record.id, findings: v.findings })) }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatBench(result)}\n`);
    for (const verdict of result.falseDrops) {
      process.stdout.write(`  false drop ${verdict.record.id}: ${verdict.findings.map((f) => `${f.rule} (${f.detail})`).join("; ")}\n`);
    }
    for (const miss of result.missed) process.stdout.write(`  missed ${miss.label}: ${miss.id}\n`);
    process.stdout.write(`seed ${seed}, ${((performance.now() - started) / 1000).toFixed(1)}s\n`);
  }
  process.exitCode = result.catchRate >= 0.95 && result.falseDropRate <= 0.02 ? 0 : 1;
}
