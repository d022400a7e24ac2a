/**
 * Translating the IFEval prompt set (`kielo translate-ifeval`).
 *
 * Some kwargs carry language that the checkers look for in responses (keywords, forbidden words,
 * an end phrase, a section splitter, a paragraph's first word, the prompt to repeat). They must be
 * translated *and* stay consistent with the translated prompt, which mentions them. So:
 * 1. the kwarg strings are translated first, on their own;
 * 2. in each prompt, their English occurrences are protected like placeholders and, after the
 *    prompt is translated, replaced by their translations. `prompt_to_repeat` (a whole request,
 *    quoted inside the prompt) is cut out, translated as its own text and put back;
 * 3. every translated kwarg is checked to occur in the translated prompt; misses are reported.
 * Postscript markers ("P.S.") and letters (`letter_frequency`) are kept as they are: they are the
 * same in the target language, and protecting them keeps the model from rewriting them.
 *
 * The target-language constraint is added the way the Finnish/Swedish IFEval does: an extra
 * `language:response_language` instruction with `{"language": <target>}`, on every prompt that does
 * not already ask for a language (a `language:response_language` of its own, or
 * `change_case:english_*`, which requires English).
 */
import { readJsonl } from "../data/jsonl.ts";
import { toJsonl } from "../data/jsonl.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { InputError, KieloError } from "../util/errors.ts";
import type { CachedSegment } from "./cache.ts";
import { assembleField, completeSegments, planText, type FieldPlan, type SegmentWork } from "./translate.ts";

export interface IfevalRow {
  key: number | string;
  prompt: string;
  instruction_id_list: string[];
  kwargs: Record<string, unknown>[];
}

/** kwargs whose (string or string-list) values are translated. */
export const TRANSLATED_KWARGS = ["keywords", "forbidden_words", "keyword", "end_phrase", "section_spliter", "first_word"] as const;
/** kwargs kept verbatim but protected in the prompt text. */
export const PROTECTED_KWARGS = ["postscript_marker"] as const;

export interface IfevalTranslation {
  rows: IfevalRow[];
  /** Per prompt key: problems (a translated kwarg missing from the prompt, lost placeholders …). */
  problems: { key: number | string; problem: string }[];
  kwargStrings: number;
  cached: number;
  generated: number;
  languageConstraintsAdded: number;
}

export async function readIfevalRows(path: string): Promise<IfevalRow[]> {
  const rows: IfevalRow[] = [];
  for await (const { line, value } of readJsonl(path)) {
    const row = value as Partial<IfevalRow>;
    if (
      (typeof row.key !== "number" && typeof row.key !== "string") ||
      typeof row.prompt !== "string" ||
      !Array.isArray(row.instruction_id_list) ||
      !Array.isArray(row.kwargs) ||
      row.kwargs.length !== row.instruction_id_list.length
    ) {
      throw new InputError({ file: path, line }, "expected an IFEval prompt: {key, prompt, instruction_id_list, kwargs} with one kwargs object per instruction");
    }
    rows.push(row as IfevalRow);
  }
  return rows;
}

/** Keep the case pattern of the source: SECTION → JAKSO, Section → Jakso. */
export function matchCase(source: string, translated: string): string {
  if (source.length > 1 && source === source.toUpperCase() && source !== source.toLowerCase()) return translated.toUpperCase();
  if (source[0] !== undefined && source[0] === source[0].toLowerCase() && source.length > 0 && !/\s/.test(source)) {
    return translated.length > 0 ? translated[0]!.toLowerCase() + translated.slice(1) : translated;
  }
  if (source[0] !== undefined && source[0] === source[0].toUpperCase() && source[0] !== source[0].toLowerCase()) {
    return translated.length > 0 ? translated[0]!.toUpperCase() + translated.slice(1) : translated;
  }
  return translated;
}

/** Single words come back from a model with a final period or quotes; a keyword has none. */
function tidyKwarg(source: string, translated: string): string {
  let out = translated.trim().replace(/^["'“”«»]+|["'“”«»]+$/g, "");
  if (!/[.!?]$/.test(source)) out = out.replace(/[.!?]+$/, "");
  return matchCase(source, out);
}

function kwargStrings(row: IfevalRow): string[] {
  const out: string[] = [];
  for (const kwargs of row.kwargs) {
    for (const name of TRANSLATED_KWARGS) {
      const value = kwargs[name];
      if (typeof value === "string") out.push(value);
      else if (Array.isArray(value)) for (const item of value) if (typeof item === "string") out.push(item);
    }
  }
  return out;
}

function protectedStrings(row: IfevalRow): string[] {
  const out: string[] = [];
  for (const kwargs of row.kwargs) {
    for (const name of PROTECTED_KWARGS) if (typeof kwargs[name] === "string") out.push(kwargs[name]);
  }
  return out;
}

function promptToRepeat(row: IfevalRow): string | undefined {
  for (const kwargs of row.kwargs) if (typeof kwargs["prompt_to_repeat"] === "string") return kwargs["prompt_to_repeat"];
  return undefined;
}

function asksForLanguage(row: IfevalRow): boolean {
  return row.instruction_id_list.some((id) => id === "language:response_language" || id.startsWith("change_case:english_"));
}

/**
 * The prompts a target-language IFEval keeps: those with their own `language:response_language`
 * ask for a third language (31 of the 541; the paper drops them: 510 remain) unless `keep`.
 */
export function selectPrompts(rows: readonly IfevalRow[], keep: boolean): { kept: IfevalRow[]; dropped: IfevalRow[] } {
  if (keep) return { kept: [...rows], dropped: [] };
  const kept: IfevalRow[] = [];
  const dropped: IfevalRow[] = [];
  for (const row of rows) (row.instruction_id_list.includes("language:response_language") ? dropped : kept).push(row);
  return { kept, dropped };
}

export async function translateIfeval(
  rows: readonly IfevalRow[],
  work: SegmentWork,
  options: { to: string; maxChars: number; addLanguageConstraint: boolean; generate: boolean },
): Promise<IfevalTranslation> {
  const planOptions = { maxChars: options.maxChars, translateJson: false };
  // Step 1: kwarg strings (and prompts to repeat), each translated on its own.
  const kwargPlans = new Map<string, FieldPlan>();
  for (const row of rows) {
    for (const value of kwargStrings(row)) if (!kwargPlans.has(value)) kwargPlans.set(value, planText(value, value, planOptions));
    const repeat = promptToRepeat(row);
    if (repeat !== undefined && !kwargPlans.has(repeat)) kwargPlans.set(repeat, planText(repeat, repeat, planOptions, protectedStrings(row)));
  }
  // Step 2: prompts, with kwarg occurrences protected; the prompt to repeat cut out.
  interface PromptPlan {
    row: IfevalRow;
    parts: ({ kind: "plan"; plan: FieldPlan } | { kind: "repeat"; text: string })[];
  }
  const promptPlans: PromptPlan[] = rows.map((row) => {
    const extra = [...kwargStrings(row), ...protectedStrings(row)];
    const repeat = promptToRepeat(row);
    const at = repeat === undefined ? -1 : row.prompt.indexOf(repeat);
    if (repeat === undefined || at < 0) return { row, parts: [{ kind: "plan", plan: planText(`${row.key}`, row.prompt, planOptions, extra) }] };
    const before = row.prompt.slice(0, at);
    const after = row.prompt.slice(at + repeat.length);
    const parts: PromptPlan["parts"] = [];
    if (before !== "") parts.push({ kind: "plan", plan: planText(`${row.key}:before`, before, planOptions, extra) });
    parts.push({ kind: "repeat", text: repeat });
    if (after !== "") parts.push({ kind: "plan", plan: planText(`${row.key}:after`, after, planOptions, extra) });
    return { row, parts };
  });
  const segments = [
    ...[...kwargPlans.values()].flatMap((plan) => plan.segments),
    ...promptPlans.flatMap((plan) => plan.parts.flatMap((part) => (part.kind === "plan" ? part.plan.segments : []))),
  ];
  const completed = await completeSegments(segments, work, { generate: options.generate });
  const lookup = (hash: string): CachedSegment | undefined => completed.done.get(hash);

  const translatedKwargs = new Map<string, string>();
  const problems: IfevalTranslation["problems"] = [];
  for (const [value, plan] of kwargPlans) {
    const assembled = assembleField(plan, lookup);
    if (assembled === undefined) throw new KieloError(`the translation of ${JSON.stringify(value)} is not complete in the cache`);
    translatedKwargs.set(value, tidyKwarg(value, assembled.text));
  }
  const lowerKwargs = new Map([...translatedKwargs].map(([source, target]) => [source.toLowerCase(), target]));

  let added = 0;
  const out: IfevalRow[] = [];
  for (const { row, parts } of promptPlans) {
    let prompt = "";
    for (const part of parts) {
      if (part.kind === "repeat") {
        prompt += translatedKwargs.get(part.text)!;
        continue;
      }
      const assembled = assembleField(part.plan, lookup, (value, kind) =>
        kind === "extra" ? (translatedKwargs.get(value) ?? lowerKwargs.get(value.toLowerCase()) ?? value) : value,
      );
      if (assembled === undefined) throw new KieloError(`the translation of prompt ${row.key} is not complete in the cache`);
      prompt += assembled.text;
      for (const issue of assembled.issues) problems.push({ key: row.key, problem: `${issue.rule}: ${issue.detail}` });
    }
    const kwargs = row.kwargs.map((entry) => {
      const copy: Record<string, unknown> = { ...entry };
      for (const name of [...TRANSLATED_KWARGS, "prompt_to_repeat"]) {
        const value = copy[name];
        if (typeof value === "string") copy[name] = translatedKwargs.get(value) ?? value;
        else if (Array.isArray(value)) copy[name] = value.map((item) => (typeof item === "string" ? (translatedKwargs.get(item) ?? item) : item));
      }
      return copy;
    });
    for (const entry of kwargs) {
      for (const name of [...TRANSLATED_KWARGS, "prompt_to_repeat"]) {
        const values = Array.isArray(entry[name]) ? (entry[name] as unknown[]) : [entry[name]];
        for (const value of values) {
          if (typeof value === "string" && !prompt.toLowerCase().includes(value.toLowerCase())) {
            problems.push({ key: row.key, problem: `${name} ${JSON.stringify(value)} does not occur in the translated prompt` });
          }
        }
      }
    }
    const translated: IfevalRow = { key: row.key, prompt, instruction_id_list: [...row.instruction_id_list], kwargs };
    if (options.addLanguageConstraint && !asksForLanguage(row)) {
      translated.instruction_id_list.push("language:response_language");
      translated.kwargs.push({ language: options.to });
      added += 1;
    }
    out.push(translated);
  }
  return {
    rows: out,
    problems,
    kwargStrings: kwargPlans.size,
    cached: completed.cached,
    generated: completed.generated,
    languageConstraintsAdded: added,
  };
}

export async function writeIfevalRows(path: string, rows: readonly IfevalRow[]): Promise<void> {
  await writeFileAtomic(path, toJsonl(rows));
}
