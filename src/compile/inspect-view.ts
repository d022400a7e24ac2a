/**
 * Human views of compiled data: one document decoded with trained and masked tokens told apart, and
 * summary statistics.
 *
 * Marking: on a terminal (`ansi`) trained text is green and underlined, masked text is dim. When
 * piped (`brackets`) trained text is wrapped in `[[` … `]]` and masked text is plain. Special tokens
 * are shown literally (`<|im_end|>`, `</s>`), since whether they are trained is the point.
 */
import type { Tokenizer } from "tokenizers";
import type { CompiledData } from "./read-compiled.ts";
import { documentLengths } from "./read-compiled.ts";

export type MarkStyle = "ansi" | "brackets";

const ANSI_TRAINED = "\x1b[32;4m";
const ANSI_MASKED = "\x1b[2m";
const ANSI_RESET = "\x1b[0m";

/**
 * Decode runs of equally-flagged tokens. Each run's text is the difference between decoding the
 * prefix up to its end and up to its start, so decoders that treat the first token specially (a
 * SentencePiece leading space) or merge bytes across tokens give the same text as decoding the whole.
 * Where a run boundary splits the bytes of one character (byte-fallback tokens), the shorter prefix
 * decodes to U+FFFD; the text is then taken back from the earlier run(s) and the whole character
 * goes to the later run, so the runs always concatenate to the decoded document.
 */
export async function decodeRuns(tokenizer: Tokenizer, ids: Uint32Array, trained: Uint8Array): Promise<{ text: string; trained: boolean }[]> {
  const runs: { text: string; trained: boolean }[] = [];
  let previous = "";
  let start = 0;
  while (start < ids.length) {
    const flag = trained[start]!;
    let end = start + 1;
    while (end < ids.length && trained[end] === flag) end++;
    const prefix = await tokenizer.decode(Array.from(ids.subarray(0, end)), false);
    let common = 0;
    while (common < previous.length && common < prefix.length && previous.charCodeAt(common) === prefix.charCodeAt(common)) common++;
    let excess = previous.length - common;
    for (let r = runs.length - 1; r >= 0 && excess > 0; r--) {
      const run = runs[r]!;
      const cut = Math.min(excess, run.text.length);
      run.text = run.text.slice(0, run.text.length - cut);
      excess -= cut;
    }
    runs.push({ text: prefix.slice(common), trained: flag === 1 });
    previous = prefix;
    start = end;
  }
  return runs.filter((run) => run.text !== "");
}

export async function markedText(tokenizer: Tokenizer, ids: Uint32Array, trained: Uint8Array, style: MarkStyle): Promise<string> {
  const runs = await decodeRuns(tokenizer, ids, trained);
  return runs
    .map((run) => {
      if (style === "brackets") return run.trained ? `[[${run.text}]]` : run.text;
      return `${run.trained ? ANSI_TRAINED : ANSI_MASKED}${run.text}${ANSI_RESET}`;
    })
    .join("");
}

/** One document: a header line and the marked text. */
export async function documentView(data: CompiledData, tokenizer: Tokenizer, d: number, style: MarkStyle): Promise<string> {
  const { start, end } = data.documentRange(d);
  const row = data.rows()[d];
  const ids = data.tokens.subarray(start, end);
  const trained = data.trained.subarray(start, end);
  let trainedCount = 0;
  for (const t of trained) trainedCount += t;
  const header =
    `── document ${d}` +
    (data.packs !== null ? ` (pack ${packOf(data.packs, d)})` : "") +
    (row ? ` · id ${row.id}${row.part ? ` (${row.part})` : ""} · source line ${row.source}` : "") +
    ` · ${end - start} tokens, ${trainedCount} trained${row?.truncated ? " · truncated" : ""}`;
  return `${header}\n${await markedText(tokenizer, ids, trained, style)}\n`;
}

/** The pack holding document d: the last p with packs[p] <= d (binary search). */
function packOf(packs: BigInt64Array, d: number): number {
  let lo = 0;
  let hi = packs.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (Number(packs[mid]!) <= d) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Summary statistics as text: counts, trained share, drops, and a length histogram with text bars. */
export function statsView(data: CompiledData, barWidth = 40): string {
  const m = data.manifest;
  const n = (x: number): string => x.toLocaleString("en-US");
  const pct = (a: number, b: number): string => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : "–");
  const lines = [
    `${data.dir}`,
    `  kind ${m.kind} · template ${m.template.name} · policy ${m.policy} · max length ${m.max_length ?? "none"} (${m.truncation})` +
      (m.packing ? ` · packed into ${m.packing.seq_len}-token sequences` : ""),
    `  rows in ${n(m.rows_in)}, rows out ${n(m.rows_out)}, truncated ${n(m.truncated)}`,
    `  dropped: ${Object.entries(m.dropped).map(([r, c]) => `${r} ${n(c)}`).join(", ") || "none"}`,
    `  documents ${n(m.documents)}, sequences ${n(m.sequences)}, tokens ${n(m.tokens)}, trained ${n(m.trained_tokens)} (${pct(m.trained_tokens, m.tokens)})`,
  ];
  if (m.template.templates) {
    lines.push(`  templates: ${m.template.templates.map((t) => `${t.name} (${n(t.rows ?? 0)} rows)`).join(", ")}`);
  }
  const lengths = documentLengths(data);
  if (lengths.length > 0) {
    const sorted = Uint32Array.from(lengths).sort();
    const max = sorted[sorted.length - 1]!;
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    lines.push(`  document length: min ${n(sorted[0]!)}, median ${n(sorted[sorted.length >> 1]!)}, mean ${mean.toFixed(1)}, max ${n(max)}`);
    if (data.packs !== null) {
      const packCount = data.packs.length - 1;
      const fill = m.packing ? pct(m.tokens, packCount * m.packing.seq_len) : "–";
      lines.push(`  packs: ${n(packCount)}, filled ${fill}`);
    }
    lines.push(...histogram(lengths, sorted[0]!, max, barWidth));
  }
  return `${lines.join("\n")}\n`;
}

/** Ten equal-width buckets from the shortest to the longest document, as text bars. */
function histogram(lengths: Uint32Array, min: number, max: number, barWidth: number): string[] {
  const span = max - min + 1;
  const buckets = Math.min(10, span);
  const width = Math.ceil(span / buckets);
  const counts = new Array<number>(buckets).fill(0);
  for (const length of lengths) counts[Math.min(buckets - 1, Math.floor((length - min) / width))]! += 1;
  const top = Math.max(...counts);
  const labelWidth = String(max).length;
  return [
    "  length histogram (tokens per document):",
    ...counts.map((count, i) => {
      const from = min + i * width;
      const to = i === buckets - 1 ? max : from + width - 1;
      const bar = "█".repeat(top > 0 ? Math.round((barWidth * count) / top) : 0);
      return `  ${String(from).padStart(labelWidth)}–${String(to).padEnd(labelWidth)} │${bar} ${count}`;
    }),
  ];
}
