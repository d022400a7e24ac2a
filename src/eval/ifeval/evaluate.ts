/**
 * One IFEval evaluation: read prompts and responses, optionally narrow to a target language,
 * judge every response strict and loose, and compute the metrics.
 */
import { Progress } from "../../util/progress.ts";
import { computeMetrics, type IfevalMetrics } from "./metrics.ts";
import { DEFAULT_PROMPTS_FILE, readPrompts, type IfevalPrompt, type PromptKey } from "./prompts.ts";
import { joinResponses, readResponses } from "./responses.ts";
import { judge } from "./score.ts";
import {
  responseLanguageRate,
  selectForTargetLanguage,
  type DetectorName,
  type ExcludedPrompt,
  type LanguagePromptExclusion,
  type ResponseLanguageReport,
} from "./target-language.ts";

export interface IfevalOptions {
  responsesFile: string;
  promptsFile?: string;
  /** Target language (`fi`): exclude third-language prompts and measure the response language. */
  lang?: string;
  detector?: DetectorName;
  exclusion?: LanguagePromptExclusion;
  quiet?: boolean;
}

export interface PromptResult {
  key: PromptKey;
  prompt: string;
  instruction_ids: string[];
  strict: boolean[];
  loose: boolean[];
}

export interface TargetLanguageResult {
  lang: string;
  exclusion: LanguagePromptExclusion;
  prompts_before: number;
  prompts_after: number;
  excluded: ExcludedPrompt[];
  response_language: Omit<ResponseLanguageReport, "detected">;
}

export interface IfevalResult extends IfevalMetrics {
  prompts_file: string;
  responses_file: string;
  /** Response lines that answered no scored prompt. */
  unused_responses: number;
  target_language?: TargetLanguageResult;
  per_prompt: PromptResult[];
  /** Responses by key, for the store (not part of the JSON report). */
  responses: Map<string, string>;
  /** What each detector said per response (with `lang`), for the store. */
  detected?: ResponseLanguageReport["detected"];
}

/** Judge already-joined prompts and responses. */
export function scoreResponses(items: readonly { prompt: IfevalPrompt; response: string }[], quiet = true): PromptResult[] {
  const progress = new Progress("ifeval", { unit: "prompts", total: items.length, quiet });
  const out = items.map(({ prompt, response }) => {
    const { strict, loose } = judge(prompt.checks, response);
    progress.tick();
    return { key: prompt.key, prompt: prompt.prompt, instruction_ids: prompt.instructionIds, strict, loose };
  });
  progress.done();
  return out;
}

export async function evaluateIfeval(options: IfevalOptions): Promise<IfevalResult> {
  const promptsFile = options.promptsFile ?? DEFAULT_PROMPTS_FILE;
  const all = await readPrompts(promptsFile);
  const responses = await readResponses(options.responsesFile);
  const exclusion = options.exclusion ?? "other";
  const selection = options.lang === undefined ? { kept: all, excluded: [] } : selectForTargetLanguage(all, options.lang, exclusion);
  const { joined, unused } = joinResponses(selection.kept, responses, options.responsesFile);
  const perPrompt = scoreResponses(joined, options.quiet ?? false);
  const metrics = computeMetrics(perPrompt.map((p) => ({ instructionIds: p.instruction_ids, strict: p.strict, loose: p.loose })));
  const result: IfevalResult = {
    ...metrics,
    prompts_file: promptsFile,
    responses_file: options.responsesFile,
    unused_responses: unused,
    per_prompt: perPrompt,
    responses: new Map(joined.map((j) => [String(j.prompt.key), j.response])),
  };
  if (options.lang !== undefined) {
    const progress = new Progress("response language", { unit: "responses", total: joined.length, quiet: options.quiet ?? false });
    const report = await responseLanguageRate(
      joined.map((j) => ({ key: j.prompt.key, response: j.response })),
      options.lang,
      options.detector ?? "langdetect",
      () => progress.tick(),
    );
    progress.done();
    const { detected, ...summary } = report;
    result.detected = detected;
    result.target_language = {
      lang: options.lang,
      exclusion,
      prompts_before: all.length,
      prompts_after: selection.kept.length,
      excluded: selection.excluded,
      response_language: summary,
    };
  }
  return result;
}

/** The `--json` document: the metrics, the target-language part, and per-prompt verdicts. */
export function toJsonReport(result: IfevalResult, label?: string): unknown {
  return {
    label: label ?? null,
    prompts_file: result.prompts_file,
    responses_file: result.responses_file,
    prompt_level_strict: result.prompt_level_strict,
    instruction_level_strict: result.instruction_level_strict,
    prompt_level_loose: result.prompt_level_loose,
    instruction_level_loose: result.instruction_level_loose,
    prompts: result.prompts,
    instructions: result.instructions,
    counts: result.counts,
    unused_responses: result.unused_responses,
    ...(result.target_language === undefined ? {} : { target_language: result.target_language }),
    per_category: result.per_category,
    per_instruction: result.per_instruction,
    per_prompt: result.per_prompt,
  };
}
