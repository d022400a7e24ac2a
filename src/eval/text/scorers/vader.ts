/**
 * Offline English sentiment with VADER (lexicon and rules, no model): kielo's port of the Python
 * `vaderSentiment` 3.3.2 (src/eval/text/vader/, which says why not the npm port). The label is
 * VADER's usual reading of the compound score (≥ 0.05 positive, ≤ −0.05 negative, else neutral);
 * the score is the compound score in [−1, 1].
 */
import { VADER_VERSION } from "../vader/lexicon.ts";
import { polarityScores } from "../vader/vader.ts";
import type { Score, ScoreInput, Scorer } from "./types.ts";

export function vaderLabel(compound: number): string {
  if (compound >= 0.05) return "positive";
  if (compound <= -0.05) return "negative";
  return "neutral";
}

export function vaderScorer(name: string): Scorer {
  return {
    name,
    version: { kind: "vader", package: `vaderSentiment ${VADER_VERSION} (kielo port)` },
    score(inputs: readonly ScoreInput[], onProgress): Promise<Score[]> {
      const out = inputs.map((input) => {
        const { compound } = polarityScores(input.answer);
        return { label: vaderLabel(compound), score: compound };
      });
      onProgress?.(inputs.length);
      return Promise.resolve(out);
    },
  };
}
