/**
 * What a low-resource-language study needs besides textstat's block, per answer:
 * - `answer_lang`: the answer's language by the langdetect port (seed 0, as IFEval), null when
 *   it cannot tell; `in_target_lang` 1/0 when a target language is given.
 * - `repetition`: the share of the answer's word 4-grams that repeat an earlier 4-gram of the same
 *   answer (Welleck et al.'s rep-n with n = 4; 0 = no repetition, → 1 = one phrase over and over).
 * - `loop_repeats`, `loop_share`: the longest run of one word n-gram repeated back to back (as the
 *   `repetition` cleaning rule sees generation loops) — how often, and the share of the answer's
 *   tokens it covers (words; a character of a script written without spaces, as that rule counts).
 * - `prompt_copy`: the share of the answer's word 3-grams that occur in the prompt (copying or
 *   echoing the question; 0 when the prompt or answer has fewer than 3 words).
 * - `length_words` (whitespace-separated words), `length_chars` (code points), `length_tokens`
 *   (tokens of the model's tokenizer, when one is given).
 */
import { longestRepeatRun, loopTokens, words } from "../../text/words.ts";
import { codePointLength, pySplit } from "../../text/python-str.ts";
import type { LanguageDetector } from "../langid/index.ts";

export interface AnswerMetrics {
  answer_lang: string | null;
  in_target_lang: number | null;
  repetition: number;
  loop_repeats: number;
  loop_share: number;
  prompt_copy: number;
  length_words: number;
  length_chars: number;
  length_tokens: number | null;
}

export const ANSWER_METRIC_FIELDS = [
  "in_target_lang",
  "repetition",
  "loop_repeats",
  "loop_share",
  "prompt_copy",
  "length_words",
  "length_chars",
  "length_tokens",
] as const;

function ngrams(tokens: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(" "));
  return out;
}

/** Share of n-grams that repeat an earlier n-gram of the same sequence. */
export function repeatedNgramShare(tokens: readonly string[], n = 4): number {
  const grams = ngrams(tokens, n);
  if (grams.length === 0) return 0;
  return 1 - new Set(grams).size / grams.length;
}

/** Share of the answer's n-grams that also occur in the prompt. */
export function promptCopyShare(prompt: readonly string[], answer: readonly string[], n = 3): number {
  const answerGrams = ngrams(answer, n);
  const promptGrams = new Set(ngrams(prompt, n));
  if (answerGrams.length === 0 || promptGrams.size === 0) return 0;
  return answerGrams.filter((gram) => promptGrams.has(gram)).length / answerGrams.length;
}

export interface AnswerMetricsOptions {
  detector: LanguageDetector;
  targetLang?: string | undefined;
  /** Token count of the answer, when a tokenizer was given. */
  tokens?: number | undefined;
}

export function answerMetrics(prompt: string, answer: string, options: AnswerMetricsOptions): AnswerMetrics {
  const answerWords = words(answer);
  const lang = answer.trim() === "" ? null : options.detector.detect(answer);
  const loop = longestRepeatRun(answer);
  return {
    answer_lang: lang,
    in_target_lang: options.targetLang === undefined ? null : lang === options.targetLang ? 1 : 0,
    repetition: repeatedNgramShare(answerWords),
    loop_repeats: loop.repeats,
    loop_share: answerWords.length === 0 ? 0 : loop.runWords / loopTokens(answer).length,
    prompt_copy: promptCopyShare(words(prompt), answerWords),
    length_words: pySplit(answer).length,
    length_chars: codePointLength(answer),
    length_tokens: options.tokens ?? null,
  };
}
