/**
 * Two failure shapes of a small model's answers in a language it barely knows: it LOOPS (repeats
 * itself: "Keskustomu, keskustomu, keskustomu, …") or it COPIES the prompt back instead of answering.
 *
 * Both are measured on lower-cased words (runs of Unicode letters and digits):
 * - repetition = seq-rep-4 of Welleck et al. 2019 ("Neural text degeneration with unlikelihood
 *   training", §5): 1 − distinct 4-grams / 4-grams of the answer. 0 for text that never repeats a
 *   4-gram; near 1 for a loop. An answer LOOPS when it is ≥ 0.5: at least half its 4-grams repeat
 *   an earlier one.
 * - prompt copy = the share of the answer's 4-grams (fewer words: all its words as one n-gram) that
 *   also occur in the prompt. An answer COPIES the prompt when it is ≥ 0.5. An extractive answer
 *   that quotes a passage given in the prompt counts too; compare models on the same prompts.
 */

export const LOOP_THRESHOLD = 0.5;
export const COPY_THRESHOLD = 0.5;
const N = 4;

export interface AnswerShape {
  words: number;
  /** seq-rep-4: 1 − distinct 4-grams / 4-grams (0 with fewer than 4 words). */
  repetition: number;
  /** Share of the answer's n-grams found in the prompt (0 for an empty answer). */
  promptCopy: number;
  loops: boolean;
  copiesPrompt: boolean;
}

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function ngrams(tokens: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(" "));
  return out;
}

export function repetition(tokens: readonly string[]): number {
  const grams = ngrams(tokens, N);
  return grams.length === 0 ? 0 : 1 - new Set(grams).size / grams.length;
}

export function promptCopy(prompt: readonly string[], answer: readonly string[]): number {
  if (answer.length === 0) return 0;
  const n = Math.min(N, answer.length);
  const fromPrompt = new Set(ngrams(prompt, n));
  const grams = ngrams(answer, n);
  return grams.filter((g) => fromPrompt.has(g)).length / grams.length;
}

export function answerShape(prompt: string, answer: string): AnswerShape {
  const answerWords = words(answer);
  const rep = repetition(answerWords);
  const copy = promptCopy(words(prompt), answerWords);
  return { words: answerWords.length, repetition: rep, promptCopy: copy, loops: rep >= LOOP_THRESHOLD, copiesPrompt: copy >= COPY_THRESHOLD };
}
