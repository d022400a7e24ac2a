/**
 * Recording an IFEval evaluation in the workspace store: a run of kind `eval-ifeval` whose
 * summary holds the metrics, one `eval_results` row per prompt (its verdicts), the responses in
 * `generations`, and the four accuracies as `metrics`.
 */
import { transaction, type Store } from "../../store/db.ts";
import { insertEvalResults } from "../../store/eval-results.ts";
import { insertGenerations, type GenerationRow } from "../../store/generations.ts";
import { finishRun, recordMetric, startRun } from "../../store/runs.ts";
import { toJsonReport, type IfevalResult } from "./evaluate.ts";

export const IFEVAL_RUN_KIND = "eval-ifeval";

export interface StoredIfevalConfig {
  prompts_file: string;
  responses_file: string;
  lang: string | null;
  detector: string | null;
  exclusion: string | null;
}

/** The run summary: everything of the JSON report but the per-prompt list. */
export function ifevalSummary(result: IfevalResult): Record<string, unknown> {
  const { per_prompt: _perPrompt, ...summary } = toJsonReport(result) as Record<string, unknown>;
  return summary;
}

/** Store one evaluation; returns the run id. */
export function storeIfevalRun(db: Store, result: IfevalResult, label: string | undefined, config: StoredIfevalConfig): number {
  return transaction(db, () => {
    const runId = startRun(db, IFEVAL_RUN_KIND, { label, config });
    const detected = new Map((result.detected ?? []).map((d) => [String(d.key), d]));
    const verdicts: { key: string; result: unknown }[] = [];
    const generations: GenerationRow[] = [];
    for (const p of result.per_prompt) {
      const key = String(p.key);
      const language = detected.get(key);
      const verdict = {
        instruction_ids: p.instruction_ids,
        strict: p.strict,
        loose: p.loose,
        ...(language === undefined ? {} : { response_language: { langdetect: language.langdetect, eld: language.eld } }),
      };
      verdicts.push({ key, result: verdict });
      generations.push({ key, prompt: p.prompt, response: result.responses.get(key) ?? "" });
    }
    insertEvalResults(db, runId, verdicts);
    insertGenerations(db, runId, generations);
    recordMetric(db, runId, "prompt_level_strict", result.prompt_level_strict);
    recordMetric(db, runId, "instruction_level_strict", result.instruction_level_strict);
    recordMetric(db, runId, "prompt_level_loose", result.prompt_level_loose);
    recordMetric(db, runId, "instruction_level_loose", result.instruction_level_loose);
    const rl = result.target_language?.response_language;
    if (rl !== undefined) recordMetric(db, runId, "response_language_rate", rl.rates[rl.primary].rate);
    finishRun(db, runId, "done", ifevalSummary(result));
    return runId;
  });
}
