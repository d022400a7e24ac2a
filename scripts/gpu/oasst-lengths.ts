/**
 * Writes fixtures/bench/oasst1-validation-lengths.json: the token lengths of the real OASST
 * prompt→reply pairs, for engine/gpu_checks/bench_speed.py (the GPU host has neither ../shared nor
 * a network, so the lengths travel as this small file; the texts never do).
 *
 *   node scripts/gpu/oasst-lengths.ts [--source ../shared/data/oasst1/oasst1_validation_en.jsonl]
 *
 * Every length comes from kielo's own compiler (`compileFolder`, as `kielo data compile` runs it)
 * with the Mistral-7B tokenizer (fixtures/tokenizers/mistral-7b, the 32000-token vocabulary of the
 * Llama-2-shaped benchmark model) and the built-in `llama-2` chat template:
 * - `sft`: every assistant message whose parent is a prompter message, as the one-turn conversation
 *   [user: parent, assistant: reply], in file order, policy `assistant`. Per pair
 *   `[tokens, prompt_tokens]`: the document's length and its untrained prefix (BOS, `[INST]`, the
 *   prompt, `[/INST]`), so prompt masking in the benchmark is the compiler's.
 * - `dpo`: the oasst adapter's `--pairs` (ranked sibling replies along each tree's best path, the
 *   prompt being that path up to the user turn), compiled as preference data. Per pair
 *   `[prompt_tokens, chosen_tokens, rejected_tokens]` (prompt + reply = each document's length).
 * Deterministic: same source and tokenizer, same file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { compileFolder } from "../../src/compile/compile-folder.ts";
import { openCompiled, type CompiledData } from "../../src/compile/read-compiled.ts";
import { convertFile } from "../../src/data/convert.ts";
import type { Conversation } from "../../src/data/records.ts";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { values } = parseArgs({
  options: {
    source: { type: "string", default: join(root, "..", "shared", "data", "oasst1", "oasst1_validation_en.jsonl") },
    out: { type: "string", default: join(root, "fixtures", "bench", "oasst1-validation-lengths.json") },
  },
});
const source = values.source;
const tokenizerDir = join(root, "fixtures", "tokenizers", "mistral-7b");
const TEMPLATE = "llama-2";

interface FlatMessage {
  message_id: string;
  parent_id: string | null;
  role: string;
  text: string;
}

/** One-turn conversations [user: parent prompt, assistant: reply] for every assistant message. */
function promptReplyRecords(text: string): Conversation[] {
  const rows = text.trim().split("\n").map((line) => JSON.parse(line) as FlatMessage);
  const byId = new Map(rows.map((row) => [row.message_id, row]));
  const records: Conversation[] = [];
  for (const reply of rows) {
    const prompt = reply.parent_id === null ? undefined : byId.get(reply.parent_id);
    if (reply.role !== "assistant" || prompt?.role !== "prompter") continue;
    records.push({
      kind: "conversation",
      id: `oasst-${reply.message_id}`,
      lang: "en",
      messages: [
        { role: "user", content: prompt.text },
        { role: "assistant", content: reply.text },
      ],
      meta: {},
    });
  }
  return records;
}

/** Length of the untrained prefix of document d (the prompt: everything before the first trained token). */
function promptTokens(data: CompiledData, d: number): number {
  const { start, end } = data.documentRange(d);
  const first = data.trained.subarray(start, end).indexOf(1);
  if (first < 0) throw new Error(`document ${d} has no trained token`);
  return first;
}

function stats(values: number[]): { n: number; mean: number; median: number; p90: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    // numpy's default (linear) percentile.
    const pos = q * (sorted.length - 1);
    const lo = Math.floor(pos);
    return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
  };
  const round = (x: number): number => Math.round(x * 10) / 10;
  return { n: sorted.length, mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length), median: round(at(0.5)), p90: round(at(0.9)), max: sorted.at(-1)! };
}

const work = mkdtempSync(join(tmpdir(), "kielo-oasst-lengths-"));
try {
  const sourceText = readFileSync(source, "utf8");
  const tokenizer = loadTokenizer(tokenizerDir);
  const compileOptions = { template: TEMPLATE, maxLength: null, truncation: "drop" as const, pack: null, quiet: true };

  const sftRecords = join(work, "sft.jsonl");
  const sftRows = promptReplyRecords(sourceText);
  writeFileSync(sftRecords, sftRows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await compileFolder(sftRecords, tokenizer, join(work, "sft"), { ...compileOptions, policy: "assistant" });
  const sft = openCompiled(join(work, "sft"));
  const sftPairs: [number, number][] = [];
  for (let d = 0; d < sft.documentCount; d++) {
    const { start, end } = sft.documentRange(d);
    sftPairs.push([end - start, promptTokens(sft, d)]);
  }

  const dpoRecords = join(work, "dpo.jsonl");
  await convertFile({ input: source, out: dpoRecords, format: "oasst", pairs: true, quiet: true });
  await compileFolder(dpoRecords, tokenizer, join(work, "dpo"), { ...compileOptions, policy: "all" });
  const dpo = openCompiled(join(work, "dpo"));
  const dpoPairs: [number, number, number][] = [];
  for (let d = 0; d < dpo.documentCount; d += 2) {
    const prompt = promptTokens(dpo, d);
    const chosen = dpo.documentRange(d);
    const rejected = dpo.documentRange(d + 1);
    dpoPairs.push([prompt, chosen.end - chosen.start - prompt, rejected.end - rejected.start - prompt]);
  }

  const fixture = {
    what: "token lengths of the oasst1 validation prompt→reply pairs (sft) and ranked reply pairs (dpo); no text",
    made_by: "node scripts/gpu/oasst-lengths.ts",
    source: {
      file: "oasst1_validation_en.jsonl (../shared/data/oasst1; OpenAssistant/oasst1 validation split, English, via TurkuNLP/oasst-fi)",
      sha256: createHash("sha256").update(sourceText).digest("hex"),
      licence: "Apache-2.0",
    },
    tokenizer: { path: relative(root, tokenizerDir), sha256: tokenizer.sha256 },
    template: TEMPLATE,
    sft: {
      layout: "[tokens, prompt_tokens] per pair; trained = tokens[prompt_tokens:] (policy assistant)",
      stats: stats(sftPairs.map(([n]) => n)),
      pairs: sftPairs,
    },
    dpo: {
      layout: "[prompt_tokens, chosen_reply_tokens, rejected_reply_tokens] per pair",
      stats: stats(dpoPairs.map(([p, c, r]) => 2 * p + c + r)),
      pairs: dpoPairs,
    },
  };
  // One pair per line: small diffs, readable.
  const body = JSON.stringify(fixture, null, 2).replace(/\[\s+(\d+),\s+(\d+)(?:,\s+(\d+))?\s+\]/g, (_m, a: string, b: string, c?: string) =>
    c === undefined ? `[${a}, ${b}]` : `[${a}, ${b}, ${c}]`,
  );
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(`${values.out}.tmp`, body + "\n");
  renameSync(`${values.out}.tmp`, values.out);
  console.log(`${values.out}: sft ${JSON.stringify(fixture.sft.stats)}; dpo ${JSON.stringify(fixture.dpo.stats)} (tokens per pair, both documents)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
