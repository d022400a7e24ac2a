/**
 * Model-based scores (toxicity, sentiment, bias, relevance …) come from pluggable scorers named
 * in a small config (scorers/config.ts). Every scorer answers one `{label, score}` per answer;
 * `label` is a class name (classifier, judge, VADER) or null (relevance is only a number).
 */
export interface ScoreInput {
  key: string;
  prompt: string;
  answer: string;
}

export interface Score {
  label: string | null;
  score: number | null;
}

export interface Scorer {
  /** The name the score is stored under (`toxicity`, `sentiment` …). */
  readonly name: string;
  /** What produced it: kind, model, rubric version … (stored with every row). */
  readonly version: Record<string, unknown>;
  score(inputs: readonly ScoreInput[], onProgress?: (done: number) => void): Promise<Score[]>;
}
