/**
 * The headline numbers of a study, read from kielo.db through the run each step recorded: IFEval
 * strict instruction-level accuracy, the share of answers in the target language, held-out loss.
 */
import type { Store } from "../store/db.ts";
import { runSummary } from "../store/study.ts";
import { readDone } from "./state.ts";
import type { MetricName } from "./schema.ts";

export interface Cell {
  value: number | null;
  runId: number | null;
}

/** The number a finished step's run holds for a column, or undefined when the step is not done. */
export function cellOf(db: Store, stepDir: string, hash: string | undefined, pick: (summary: Record<string, unknown>) => number | null): Cell | undefined {
  const done = readDone(stepDir);
  if (done === undefined || (hash !== undefined && done.hash !== hash)) return undefined;
  if (done.run_id === null) return { value: null, runId: null };
  const summary = runSummary(db, done.run_id);
  return { value: summary === undefined ? null : pick(summary), runId: done.run_id };
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

export const ifevalStrict = (summary: Record<string, unknown>) => num(summary["instruction_level_strict"]);
export const ifevalPromptStrict = (summary: Record<string, unknown>) => num(summary["prompt_level_strict"]);
export const evalLoss = (summary: Record<string, unknown>) => num(summary["eval_loss"]);
export const targetShare = (summary: Record<string, unknown>) => {
  const metrics = summary["metrics"] as Record<string, { mean?: unknown }> | undefined;
  return num(metrics?.["in_target_lang"]?.mean);
};

export function pickerFor(metric: MetricName): (summary: Record<string, unknown>) => number | null {
  return metric === "heldout-loss" ? evalLoss : metric === "share" ? targetShare : ifevalStrict;
}

export const lowerIsBetter = (metric: MetricName) => metric === "heldout-loss";
