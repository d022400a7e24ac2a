/**
 * Translating a file of records: plan (segment + protect every text field), look up the cache,
 * generate what is missing (committing each segment as it arrives), then assemble and write the
 * output atomically. `fromCache` skips generation and writes whatever is complete.
 */
import { toJsonl } from "../data/jsonl.ts";
import type { KieloRecord } from "../data/records.ts";
import type { GenerationBackend, GenerationRequest, DecodingSettings } from "../generate/types.ts";
import { cutAtStop } from "../generate/engine.ts";
import type { Store } from "../store/db.ts";
import { finishRun, startRun, statusOfError } from "../store/runs.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { Progress, formatRate } from "../util/progress.ts";
import { TranslationCache, decodingHash, sha256, type CachedSegment } from "./cache.ts";
import { sourceTexts, textFields, withTexts } from "../text/fields.ts";
import { protect, restore, type SentinelProblem } from "../text/protect.ts";
import type { TranslationPrompt } from "./prompt.ts";
import { readRecordList } from "../data/records-file.ts";
import { assemble, segmentMessage, type Piece } from "./segment.ts";

export interface TranslateOptions {
  input: string;
  output: string;
  from: string;
  to: string;
  backend: GenerationBackend;
  decoding: DecodingSettings;
  prompt: TranslationPrompt;
  db: Store;
  maxChars: number;
  translateJson: boolean;
  /** Do not generate: write the rows whose segments are all cached. */
  fromCache?: boolean;
  quiet?: boolean;
}

/** A problem found while translating one field, kept in the output row for `clean`. */
export interface TranslationIssue {
  field: string;
  rule: "placeholder" | "truncated";
  detail: string;
}

/** What `meta.translation` holds in every output row. */
export interface TranslationMeta {
  source_id: string;
  from: string;
  to: string;
  model: string;
  prompt_version: string;
  source: Record<string, unknown>;
  issues: TranslationIssue[];
}

export interface TranslateSummary {
  rows: number;
  rowsWritten: number;
  rowsIncomplete: number;
  segments: number;
  uniqueSegments: number;
  cached: number;
  generated: number;
  rowsWithIssues: number;
  seconds: number;
}

export interface SegmentPlan {
  hash: string;
  protectedText: string;
  values: string[];
  kinds: string[];
}

export interface FieldPlan {
  path: string;
  pieces: Piece[];
  segments: SegmentPlan[];
}

export interface RecordPlan {
  record: KieloRecord;
  fields: FieldPlan[];
}

export interface PlanOptions {
  maxChars: number;
  translateJson: boolean;
}

/** Segment and protect one text. `extra` strings are protected too (see protect.ts). */
export function planText(path: string, text: string, options: PlanOptions, extra: readonly string[] = []): FieldPlan {
  const pieces = segmentMessage(text, options);
  const segments: SegmentPlan[] = [];
  for (const piece of pieces) {
    if (piece.kind !== "segment") continue;
    const protectedSegment = protect(piece.text, extra);
    segments.push({
      hash: sha256(protectedSegment.text),
      protectedText: protectedSegment.text,
      values: protectedSegment.values,
      kinds: protectedSegment.kinds,
    });
  }
  return { path, pieces, segments };
}

export function planRecord(record: KieloRecord, options: PlanOptions): RecordPlan {
  return { record, fields: textFields(record).map((field) => planText(field.path, field.text, options)) };
}

/**
 * Assemble one text from its plan and the finished segments; undefined if any is missing.
 * `replace` may swap a protected value for something else on the way back (IFEval kwargs).
 */
export function assembleField(
  field: FieldPlan,
  lookup: (hash: string) => CachedSegment | undefined,
  replace?: (value: string, kind: string) => string,
): { text: string; issues: TranslationIssue[] } | undefined {
  const segments: CachedSegment[] = [];
  for (const segment of field.segments) {
    const found = lookup(segment.hash);
    if (found === undefined) return undefined;
    segments.push(found);
  }
  const issues: TranslationIssue[] = [];
  const problems: SentinelProblem[] = [];
  const text = assemble(field.pieces, (_text, index) => {
    const plan = field.segments[index]!;
    const done = segments[index]!;
    if (done.finishReason === "length") {
      issues.push({ field: field.path, rule: "truncated", detail: "the model hit the token limit" });
    }
    const values = replace ? plan.values.map((value, i) => replace(value, plan.kinds[i]!)) : plan.values;
    const restored = restore(done.target, values);
    problems.push(...restored.problems);
    return restored.text;
  });
  for (const problem of problems) {
    issues.push({
      field: field.path,
      rule: "placeholder",
      detail: `${problem.kind} ${problem.sentinel}${problem.value === undefined ? "" : ` (${problem.value})`}`,
    });
  }
  return { text, issues };
}

/** Clean a raw model answer: cut at a stop string the server did not honour, trim the edges. */
export function normaliseAnswer(text: string, stop: readonly string[]): string {
  return cutAtStop(text, stop).text.trim();
}

/** Assemble one record from its plan and the finished segments; undefined if any is missing. */
export function assembleRecord(
  plan: RecordPlan,
  lookup: (hash: string) => CachedSegment | undefined,
  meta: Omit<TranslationMeta, "source_id" | "source" | "issues">,
): KieloRecord | undefined {
  const texts = new Map<string, string>();
  const issues: TranslationIssue[] = [];
  for (const field of plan.fields) {
    const assembled = assembleField(field, lookup);
    if (assembled === undefined) return undefined;
    texts.set(field.path, assembled.text);
    issues.push(...assembled.issues);
  }
  const record = withTexts(plan.record, texts);
  const translation: TranslationMeta = { source_id: plan.record.id, source: sourceTexts(plan.record), issues, ...meta };
  return { ...record, lang: meta.to, meta: { ...plan.record.meta, translation } };
}

/** The cache for a backend, prompt and decoding settings. */
export function openCache(db: Store, backend: GenerationBackend, prompt: TranslationPrompt, decoding: DecodingSettings) {
  const key = {
    model: backend.model,
    promptVersion: prompt.version,
    decodingHash: decodingHash({ ...decoding, ...backend.identity, style: backend.style }),
  };
  return { key, cache: new TranslationCache(db, key) };
}

export interface SegmentWork {
  backend: GenerationBackend;
  prompt: TranslationPrompt;
  cache: TranslationCache;
  label: string;
  quiet: boolean;
}

/**
 * Look up every segment in the cache and generate the rest, committing each as it arrives.
 * Returns the finished segments by hash and how many came from the cache / were generated.
 * `rowsOf` maps each segment to the rows (indices) needing it, for a rows/s figure.
 */
export async function completeSegments(
  segments: Iterable<SegmentPlan>,
  work: SegmentWork,
  options: { generate: boolean; rowsOf?: Map<string, number[]> },
): Promise<{ done: Map<string, CachedSegment>; cached: number; generated: number; unique: number }> {
  const unique = new Map<string, SegmentPlan>();
  for (const segment of segments) unique.set(segment.hash, segment);
  const done = new Map<string, CachedSegment>();
  for (const hash of unique.keys()) {
    const hit = work.cache.get(hash);
    if (hit !== undefined) done.set(hash, hit);
  }
  const cached = done.size;
  const todo = [...unique.values()].filter((segment) => !done.has(segment.hash));
  let generated = 0;
  if (options.generate && todo.length > 0) generated = await generateSegments(todo, work, done, options.rowsOf);
  return { done, cached, generated, unique: unique.size };
}

export async function translateFile(options: TranslateOptions): Promise<TranslateSummary> {
  const started = performance.now();
  const located = await readRecordList(options.input);
  const plans = located.map(({ record }) => planRecord(record, options));
  const { backend, prompt } = options;
  const { key: cacheKey, cache } = openCache(options.db, backend, prompt, options.decoding);
  const allSegments: SegmentPlan[] = [];
  const rowsOf = new Map<string, number[]>();
  for (const [index, plan] of plans.entries()) {
    for (const field of plan.fields) {
      for (const segment of field.segments) {
        allSegments.push(segment);
        const rows = rowsOf.get(segment.hash) ?? [];
        if (rows[rows.length - 1] !== index) rows.push(index);
        rowsOf.set(segment.hash, rows);
      }
    }
  }
  const runId = startRun(options.db, "translate", {
    config: {
      input: options.input,
      output: options.output,
      from: options.from,
      to: options.to,
      backend: backend.name,
      ...cacheKey,
      decoding: options.decoding,
      max_chars: options.maxChars,
      translate_json: options.translateJson,
      from_cache: options.fromCache ?? false,
    },
  });
  let generated = 0;
  try {
    // A segment shared by many rows (a preference prompt shared by its pairs, a repeated system
    // message) is translated once.
    const completed = await completeSegments(
      allSegments,
      { backend, prompt, cache, label: `translate ${options.from}→${options.to}`, quiet: options.quiet ?? false },
      { generate: !options.fromCache, rowsOf },
    );
    generated = completed.generated;
    const { done } = completed;
    const meta = { from: options.from, to: options.to, model: backend.model, prompt_version: prompt.version };
    const rows: KieloRecord[] = [];
    let incomplete = 0;
    let withIssues = 0;
    for (const plan of plans) {
      const row = assembleRecord(plan, (hash) => done.get(hash), meta);
      if (row === undefined) {
        incomplete += 1;
        continue;
      }
      if (((row.meta["translation"] as TranslationMeta).issues.length ?? 0) > 0) withIssues += 1;
      rows.push(row);
    }
    if (incomplete > 0 && !options.fromCache) {
      throw new KieloError(`${incomplete} rows are incomplete after generation (internal inconsistency)`);
    }
    await writeFileAtomic(options.output, toJsonl(rows));
    const summary: TranslateSummary = {
      rows: plans.length,
      rowsWritten: rows.length,
      rowsIncomplete: incomplete,
      segments: allSegments.length,
      uniqueSegments: completed.unique,
      cached: completed.cached,
      generated,
      rowsWithIssues: withIssues,
      seconds: (performance.now() - started) / 1000,
    };
    finishRun(options.db, runId, "done", summary);
    return summary;
  } catch (error) {
    finishRun(options.db, runId, statusOfError(error), { error: (error as Error).message, generated });
    throw error;
  }
}

async function generateSegments(
  todo: SegmentPlan[],
  work: SegmentWork,
  done: Map<string, CachedSegment>,
  rowsOf: Map<string, number[]> | undefined,
): Promise<number> {
  const { backend, prompt } = work;
  const stop = backend.style === "completion" ? prompt.stop : [];
  const requests: GenerationRequest[] = todo.map((segment) =>
    backend.style === "completion"
      ? { key: segment.hash, prompt: prompt.completion(segment.protectedText) }
      : { key: segment.hash, messages: prompt.chat(segment.protectedText) },
  );
  const byHash = new Map(todo.map((segment) => [segment.hash, segment]));
  // Rows finished so far, for rows/s: a row is done when the last of its missing segments arrives.
  const remaining = new Map<number, number>();
  for (const segment of todo) {
    for (const row of rowsOf?.get(segment.hash) ?? []) remaining.set(row, (remaining.get(row) ?? 0) + 1);
  }
  const rowsTotal = remaining.size;
  let rowsDone = 0;
  let tokens = 0;
  let generated = 0;
  const started = performance.now();
  const progress = new Progress(work.label, { unit: "segments", total: todo.length, quiet: work.quiet });
  await backend.generate(requests, {
    onResult: (result) => {
      const segment = byHash.get(result.key)!;
      const finished: CachedSegment = { target: normaliseAnswer(result.text, stop), finishReason: result.finishReason };
      work.cache.put(segment.hash, segment.protectedText, finished);
      done.set(segment.hash, finished);
      generated += 1;
      tokens += result.completionTokens ?? 0;
      for (const row of rowsOf?.get(segment.hash) ?? []) {
        const left = (remaining.get(row) ?? 1) - 1;
        remaining.set(row, left);
        if (left === 0) rowsDone += 1;
      }
      const seconds = Math.max(1e-3, (performance.now() - started) / 1000);
      const rows = rowsTotal > 0 ? `rows ${rowsDone}/${rowsTotal} (${formatRate(rowsDone / seconds)}/s), ` : "";
      progress.tick(1, `${rows}${tokens > 0 ? `${formatRate(tokens / seconds)} tokens/s` : "tokens/s unknown"}`);
    },
  });
  progress.done();
  return generated;
}
