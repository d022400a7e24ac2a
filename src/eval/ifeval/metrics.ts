/**
 * IFEval metrics from per-prompt verdicts: prompt-level accuracy (all instructions of a prompt
 * followed), instruction-level accuracy (a micro average over all instructions), both strict and
 * loose, and the same per category (the id prefix, the reference's "tier0") and per id ("tier1").
 */
import { categoryOf } from "./instructions/registry.ts";

export interface ScoredPrompt {
  instructionIds: readonly string[];
  strict: readonly boolean[];
  loose: readonly boolean[];
}

/** Accuracy of one group of instructions, with the counts it comes from. */
export interface Breakdown {
  instructions: number;
  strict_followed: number;
  strict: number;
  loose_followed: number;
  loose: number;
}

export interface IfevalMetrics {
  prompts: number;
  instructions: number;
  prompt_level_strict: number;
  instruction_level_strict: number;
  prompt_level_loose: number;
  instruction_level_loose: number;
  /** The numerators of the four accuracies above. */
  counts: {
    prompt_level_strict: number;
    instruction_level_strict: number;
    prompt_level_loose: number;
    instruction_level_loose: number;
  };
  per_category: Record<string, Breakdown>;
  per_instruction: Record<string, Breakdown>;
}

function ratio(n: number, d: number): number {
  return d === 0 ? 0 : n / d;
}

function tally(groups: Map<string, { n: number; s: number; l: number }>, key: string, strict: boolean, loose: boolean): void {
  const g = groups.get(key) ?? { n: 0, s: 0, l: 0 };
  g.n += 1;
  g.s += strict ? 1 : 0;
  g.l += loose ? 1 : 0;
  groups.set(key, g);
}

function breakdowns(groups: Map<string, { n: number; s: number; l: number }>): Record<string, Breakdown> {
  const out: Record<string, Breakdown> = {};
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    out[key] = { instructions: g.n, strict_followed: g.s, strict: ratio(g.s, g.n), loose_followed: g.l, loose: ratio(g.l, g.n) };
  }
  return out;
}

export function computeMetrics(scored: readonly ScoredPrompt[]): IfevalMetrics {
  let instructions = 0;
  let promptStrict = 0;
  let promptLoose = 0;
  let instStrict = 0;
  let instLoose = 0;
  const categories = new Map<string, { n: number; s: number; l: number }>();
  const ids = new Map<string, { n: number; s: number; l: number }>();
  for (const p of scored) {
    if (p.strict.every(Boolean)) promptStrict += 1;
    if (p.loose.every(Boolean)) promptLoose += 1;
    p.instructionIds.forEach((id, i) => {
      const s = p.strict[i]!;
      const l = p.loose[i]!;
      instructions += 1;
      instStrict += s ? 1 : 0;
      instLoose += l ? 1 : 0;
      tally(categories, categoryOf(id), s, l);
      tally(ids, id, s, l);
    });
  }
  return {
    prompts: scored.length,
    instructions,
    prompt_level_strict: ratio(promptStrict, scored.length),
    instruction_level_strict: ratio(instStrict, instructions),
    prompt_level_loose: ratio(promptLoose, scored.length),
    instruction_level_loose: ratio(instLoose, instructions),
    counts: {
      prompt_level_strict: promptStrict,
      instruction_level_strict: instStrict,
      prompt_level_loose: promptLoose,
      instruction_level_loose: instLoose,
    },
    per_category: breakdowns(categories),
    per_instruction: breakdowns(ids),
  };
}
