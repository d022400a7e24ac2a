/**
 * `kielo clean`: apply the rules to every text field of every record, drop records with any
 * finding (a conversation is dropped if any of its messages fails, a preference pair if its
 * prompt, chosen or rejected reply fails: half a conversation or a pair without its prompt is not
 * training data), write the kept records and a report with counts and example ids per rule.
 */
import { existsSync } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { toJsonl } from "../data/jsonl.ts";
import type { KieloRecord } from "../data/records.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { InputError, KieloError } from "../util/errors.ts";
import { Progress } from "../util/progress.ts";
import { textFields } from "../text/fields.ts";
import type { ScaffoldingMarker, ScaffoldingSource } from "../text/scaffolding.ts";
import { readRecordList } from "../data/records-file.ts";
import { RULES, type CleanConfig, type RuleName } from "./config.ts";
import { learnAlignment, type AlignmentModel } from "./alignment.ts";
import { boundsFor, learnAllBounds, type RatioBounds } from "./length-ratio.ts";
import { RULE_FUNCTIONS, type Finding } from "./rules.ts";
import { finalMarkLoss } from "./unfinished.ts";
import { learnEndings } from "./endings.ts";

export interface CleanInputs {
  input: string;
  /** Original records, joined by id (else the source in meta.translation is used). */
  source?: string;
  /** Target language (else each record's `lang`). */
  lang?: string;
  /** Source language (else meta.translation.from, else the source record's `lang`). */
  sourceLang?: string;
  config: CleanConfig;
  /** Markers of the translation prompt per language pair (`kielo translate`'s built-in prompts; none if absent). */
  scaffolding?: ScaffoldingSource;
  quiet?: boolean;
}

export interface RecordVerdict {
  record: KieloRecord;
  line: number;
  fields: { path: string; source: string | undefined; target: string }[];
  findings: Finding[];
}

export interface CleanReport {
  input: string;
  rows_in: number;
  rows_kept: number;
  rows_dropped: number;
  /** Per rule: rows it fired on (a row may break several), fields, up to 10 example ids. */
  rules: Record<RuleName, { rows: number; fields: number; examples: string[] }>;
  length_ratio: RatioBounds[];
  /** Per language pair: what the misaligned rule learned from the file. */
  alignment: AlignmentSummary[];
  rows_without_source: number;
  policy: string;
  config: CleanConfig;
}

export type AlignmentSummary = Omit<AlignmentModel, "coverage" | "sourceCoverage">;

interface TranslationMetaLike {
  from?: unknown;
  to?: unknown;
  source?: unknown;
  issues?: unknown;
}

function translationMeta(record: KieloRecord): TranslationMetaLike | undefined {
  const value = record.meta["translation"];
  return value !== null && typeof value === "object" ? (value as TranslationMetaLike) : undefined;
}

/** The source record of a translated one: from --source by id, else from meta.translation.source. */
function sourceRecordFor(record: KieloRecord, sources: Map<string, KieloRecord> | undefined): KieloRecord | undefined {
  if (sources !== undefined) {
    const meta = translationMeta(record);
    const id = typeof record.meta["source_id"] === "string" ? record.meta["source_id"] : record.id;
    return sources.get(id) ?? (meta ? undefined : sources.get(record.id));
  }
  const source = translationMeta(record)?.source;
  if (source === null || typeof source !== "object") return undefined;
  return { ...(source as object), kind: record.kind, id: record.id, meta: {} } as KieloRecord;
}

export async function evaluateFile(inputs: CleanInputs): Promise<{ verdicts: RecordVerdict[]; bounds: RatioBounds[]; alignment: AlignmentSummary[]; withoutSource: number }> {
  const located = await readRecordList(inputs.input);
  let sources: Map<string, KieloRecord> | undefined;
  if (inputs.source !== undefined) {
    sources = new Map((await readRecordList(inputs.source)).map(({ record }) => [record.id, record]));
  }
  // First pass: pair every field with its source, and collect length ratios per language pair.
  interface Prepared {
    record: KieloRecord;
    line: number;
    targetLang: string;
    sourceLang: string | undefined;
    fields: { path: string; source: string | undefined; target: string; issues: { rule: string; detail: string }[] }[];
  }
  const prepared: Prepared[] = [];
  const ratioTexts: { pair: string; source: string; target: string }[] = [];
  const pairTexts = new Map<string, { source: string; target: string; group: string }[]>();
  let withoutSource = 0;
  for (const { record, line } of located) {
    const meta = translationMeta(record);
    const targetLang = inputs.lang ?? record.lang;
    if (targetLang === undefined) {
      throw new InputError({ file: inputs.input, line, field: "lang" }, "record has no lang; pass the target language with --lang");
    }
    const sourceRecord = sourceRecordFor(record, sources);
    const sourceLang = inputs.sourceLang ?? (typeof meta?.from === "string" ? meta.from : undefined) ?? sourceRecord?.lang;
    const targetFields = textFields(record);
    let sourceFields: Map<string, string> | undefined;
    if (sourceRecord !== undefined) {
      try {
        sourceFields = new Map(textFields(sourceRecord).map((field) => [field.path, field.text]));
      } catch {
        sourceFields = undefined;
      }
      if (sourceFields !== undefined && sourceFields.size !== targetFields.length) {
        throw new InputError(
          { file: inputs.input, line },
          `record ${record.id} has ${targetFields.length} text fields but its source has ${sourceFields.size}`,
        );
      }
    } else withoutSource += 1;
    const issues = Array.isArray(meta?.issues) ? (meta.issues as { field?: unknown; rule?: unknown; detail?: unknown }[]) : [];
    const fields = targetFields.map((field) => ({
      path: field.path,
      target: field.text,
      source: sourceFields?.get(field.path),
      issues: issues
        .filter((issue) => issue.field === field.path)
        .map((issue) => ({ rule: String(issue.rule), detail: String(issue.detail) })),
    }));
    const pair = `${sourceLang ?? "?"}-${targetLang}`;
    for (const field of fields) {
      if (field.source !== undefined && field.target.trim() !== "") ratioTexts.push({ pair, source: field.source, target: field.target });
    }
    for (const field of fields) {
      if (field.source === undefined || field.source.trim() === "" || field.target.trim() === "") continue;
      const list = pairTexts.get(pair) ?? [];
      list.push({ source: field.source, target: field.target, group: `${line}` });
      pairTexts.set(pair, list);
    }
    prepared.push({ record, line, targetLang, sourceLang, fields });
  }
  const bounds = learnAllBounds(ratioTexts, inputs.config);
  const alignmentModels = new Map<string, AlignmentModel>();
  for (const [pair, texts] of pairTexts) {
    const model = learnAlignment(pair, texts, inputs.config.misaligned);
    if (model !== undefined) alignmentModels.set(pair, model);
  }
  const markLoss = new Map([...pairTexts].map(([pair, texts]) => [pair, finalMarkLoss(texts)]));
  // Learned from as many texts as the length bounds need.
  const endings = new Map([...pairTexts].map(([pair, texts]) => [pair, learnEndings(texts, inputs.config.length_ratio.min_samples)]));
  const scaffoldingByPair = new Map<string, ScaffoldingMarker[]>();
  const scaffoldingFor = (from: string | undefined, to: string) => {
    const pair = `${from}-${to}`;
    let markers = scaffoldingByPair.get(pair);
    if (markers === undefined) {
      markers = from !== undefined && inputs.scaffolding !== undefined ? [...inputs.scaffolding(from, to)] : [];
      scaffoldingByPair.set(pair, markers);
    }
    return markers;
  };
  const enabled = inputs.config.rules;
  const progress = new Progress("clean", { unit: "rows", total: prepared.length, quiet: inputs.quiet ?? false });
  const verdicts: RecordVerdict[] = [];
  let yielded = performance.now();
  for (const item of prepared) {
    // The rules are synchronous (language ID on every field): give Ctrl-C and SIGTERM a turn
    // every 50 ms, or a large file would ignore them until the last row.
    if (performance.now() - yielded > 50) {
      await yieldToEventLoop();
      yielded = performance.now();
    }
    const findings: Finding[] = [];
    const pair = `${item.sourceLang ?? "?"}-${item.targetLang}`;
    for (const field of item.fields) {
      const context = {
        path: field.path,
        target: field.target,
        source: field.source,
        targetLang: item.targetLang,
        sourceLang: item.sourceLang,
        bounds: field.source === undefined ? undefined : boundsFor(bounds, pair, field.source.length, inputs.config),
        alignment: alignmentModels.get(pair),
        group: `${item.line}`,
        finalMarkLoss: markLoss.get(pair),
        endings: endings.get(pair),
        translatorIssues: field.issues,
        scaffolding: scaffoldingFor(item.sourceLang, item.targetLang),
      };
      for (const rule of RULES) if (enabled.includes(rule)) findings.push(...RULE_FUNCTIONS[rule](context, inputs.config));
    }
    progress.tick();
    verdicts.push({
      record: item.record,
      line: item.line,
      fields: item.fields.map(({ path, source, target }) => ({ path, source, target })),
      findings,
    });
  }
  progress.done();
  const alignment = [...alignmentModels.values()].map(({ coverage: _coverage, sourceCoverage: _sourceCoverage, ...summary }) => summary);
  return { verdicts, bounds: [...bounds.values()], alignment, withoutSource };
}

export function buildReport(
  inputs: CleanInputs,
  verdicts: readonly RecordVerdict[],
  bounds: RatioBounds[],
  alignmentBounds: AlignmentSummary[],
  withoutSource: number,
): CleanReport {
  const rules = Object.fromEntries(RULES.map((rule) => [rule, { rows: 0, fields: 0, examples: [] as string[] }])) as CleanReport["rules"];
  for (const verdict of verdicts) {
    const fired = new Set<RuleName>();
    for (const finding of verdict.findings) {
      rules[finding.rule].fields += 1;
      fired.add(finding.rule);
    }
    for (const rule of fired) {
      rules[rule].rows += 1;
      if (rules[rule].examples.length < 10) rules[rule].examples.push(verdict.record.id);
    }
  }
  const dropped = verdicts.filter((verdict) => verdict.findings.length > 0).length;
  return {
    input: inputs.input,
    rows_in: verdicts.length,
    rows_kept: verdicts.length - dropped,
    rows_dropped: dropped,
    rules,
    length_ratio: bounds,
    alignment: alignmentBounds,
    rows_without_source: withoutSource,
    policy: "a record is dropped as a unit if any of its text fields (any message; prompt, chosen or rejected) breaks a rule",
    config: inputs.config,
  };
}

export async function cleanFile(inputs: CleanInputs & { output: string; report?: string }): Promise<CleanReport> {
  if (inputs.source !== undefined && !existsSync(inputs.source)) throw new KieloError(`--source ${inputs.source} not found`);
  const { verdicts, bounds, alignment: alignmentBounds, withoutSource } = await evaluateFile(inputs);
  const report = buildReport(inputs, verdicts, bounds, alignmentBounds, withoutSource);
  await writeFileAtomic(inputs.output, toJsonl(verdicts.filter((verdict) => verdict.findings.length === 0).map((verdict) => verdict.record)));
  if (inputs.report !== undefined) await writeFileAtomic(inputs.report, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
