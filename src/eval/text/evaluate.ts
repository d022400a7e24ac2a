/**
 * `kielo eval text`: every answer gets textstat's `text_quality` block, the answer metrics
 * (language, repetition, copy of the prompt, lengths) and the scores of the configured scorers.
 */
import { loadTokenizer } from "../../tokenize/tokenizer-folder.ts";
import type { AnswerMetricsRow } from "../../store/answer-metrics.ts";
import { Progress } from "../../util/progress.ts";
import { getDetector, type LanguageDetector } from "../langid/index.ts";
import { answerMetrics } from "./answer-metrics.ts";
import type { AnswerRow } from "./answers.ts";
import type { Scorer } from "./scorers/types.ts";
import { pyphenDictionaryFor, SHIPPED_DICTIONARIES } from "./textstat/pyphen.ts";
import { Textstat, TEXTSTAT_VERSION } from "./textstat/textstat.ts";

export const DEFAULT_READABILITY_LANG = "en_US";

export interface TextEvalOptions {
  /** textstat's language (`set_lang`), or `auto`: the answer's detected language where textstat has it, else en_US. */
  readabilityLang: string;
  /** The language answers should be in (for `in_target_lang`). */
  targetLang?: string | undefined;
  /** A tokenizer folder for `length_tokens`. */
  tokenizer?: string | undefined;
  scorers?: readonly Scorer[];
  model?: string | null;
  sourceRunId?: number | null;
  quiet?: boolean;
}

/** The textstat language for an answer detected as `lang` under `auto`. */
export function autoReadabilityLang(lang: string | null): string {
  if (lang === null || lang === "en") return DEFAULT_READABILITY_LANG;
  const dictionary = pyphenDictionaryFor(lang);
  return dictionary !== undefined && SHIPPED_DICTIONARIES.includes(dictionary) ? lang : DEFAULT_READABILITY_LANG;
}

export async function evaluateTexts(answers: readonly AnswerRow[], options: TextEvalOptions): Promise<AnswerMetricsRow[]> {
  const detector: LanguageDetector = await getDetector("langdetect");
  const loaded = options.tokenizer === undefined ? undefined : loadTokenizer(options.tokenizer);
  const tokenizer = loaded?.tokenizer;
  const versions: Record<string, unknown> = {
    textstat: `${TEXTSTAT_VERSION} (kielo port)`,
    langdetect: "1.0.9 (kielo port, seed 0)",
    ...(loaded ? { tokenizer: `${loaded.dir} (sha256 ${loaded.sha256.slice(0, 12)})` } : {}),
  };
  const measurers = new Map<string, Textstat>();
  const measurer = (lang: string) => {
    let textstat = measurers.get(lang);
    if (textstat === undefined) measurers.set(lang, (textstat = new Textstat(lang)));
    return textstat;
  };
  if (options.readabilityLang !== "auto") measurer(options.readabilityLang); // a bad language fails before any work

  const progress = new Progress("text metrics", { unit: "answers", total: answers.length, quiet: Boolean(options.quiet) });
  const rows: AnswerMetricsRow[] = [];
  for (const row of answers) {
    const tokens = tokenizer === undefined ? undefined : (await tokenizer.encode(row.answer, null, { addSpecialTokens: false })).getIds().length;
    const metrics = answerMetrics(row.prompt, row.answer, { detector, targetLang: options.targetLang, tokens });
    const readabilityLang = options.readabilityLang === "auto" ? autoReadabilityLang(metrics.answer_lang) : options.readabilityLang;
    const { answer_lang: answerLang, ...numbers } = metrics;
    rows.push({
      answer_key: row.key,
      model: options.model ?? null,
      source_run_id: options.sourceRunId ?? null,
      prompt: row.prompt,
      answer: row.answer,
      readability_lang: readabilityLang,
      answer_lang: answerLang,
      metrics: { ...measurer(readabilityLang).textQuality(row.answer), ...numbers },
      scores: {},
      versions: { ...versions },
    });
    progress.tick();
  }
  progress.done();

  for (const scorer of options.scorers ?? []) {
    const scoring = new Progress(`scorer ${scorer.name}`, { unit: "answers", total: rows.length, quiet: Boolean(options.quiet) });
    const scores = await scorer.score(answers, (done) => scoring.set(done));
    scoring.done();
    scores.forEach((score, i) => {
      rows[i]!.scores[scorer.name] = score;
      rows[i]!.versions[`scorer:${scorer.name}`] = scorer.version;
    });
  }
  return rows;
}
