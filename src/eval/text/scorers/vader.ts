/**
 * Offline English sentiment with VADER (lexicon and rules, no model): the npm port
 * `vader-sentiment` 1.1.3. The label is VADER's usual reading of the compound score (≥ 0.05
 * positive, ≤ −0.05 negative, else neutral); the score is the compound score in [−1, 1].
 *
 * That port follows an older VADER than the Python `vaderSentiment` 3.3.2 (no emoji lexicon,
 * older lexicon and rules): test/eval/text/vader.test.ts measures how often the two agree.
 */
import vader from "vader-sentiment";
import type { Score, ScoreInput, Scorer } from "./types.ts";

export function vaderLabel(compound: number): string {
  if (compound >= 0.05) return "positive";
  if (compound <= -0.05) return "negative";
  return "neutral";
}

export function vaderScores(text: string): { neg: number; neu: number; pos: number; compound: number } {
  return vader.SentimentIntensityAnalyzer.polarity_scores(text);
}

export function vaderScorer(name: string): Scorer {
  return {
    name,
    version: { kind: "vader", package: "vader-sentiment 1.1.3" },
    score(inputs: readonly ScoreInput[], onProgress): Promise<Score[]> {
      const out = inputs.map((input) => {
        const { compound } = vaderScores(input.answer);
        return { label: vaderLabel(compound), score: compound };
      });
      onProgress?.(inputs.length);
      return Promise.resolve(out);
    },
  };
}
