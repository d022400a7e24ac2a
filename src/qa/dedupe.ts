/**
 * Removing near-duplicate questions: two questions are near-duplicates when the Jaccard similarity
 * of their sets of lowercase word bigrams (words for questions under three words) is at least the
 * threshold (default 0.7). The first occurrence is kept, in document order.
 */
import { words } from "../text/words.ts";

function shingles(question: string): Set<string> {
  const tokens = words(question);
  if (tokens.length < 3) return new Set(tokens);
  const out = new Set<string>();
  for (let i = 0; i + 1 < tokens.length; i++) out.add(`${tokens[i]} ${tokens[i + 1]}`);
  return out;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const item of a) if (b.has(item)) shared += 1;
  return shared / (a.size + b.size - shared);
}

/** Indices of the questions to keep. */
export function keepDistinct(questions: readonly string[], threshold = 0.7): number[] {
  const kept: { index: number; set: Set<string> }[] = [];
  for (const [index, question] of questions.entries()) {
    const set = shingles(question);
    if (kept.some((other) => jaccard(set, other.set) >= threshold)) continue;
    kept.push({ index, set });
  }
  return kept.map((k) => k.index);
}
