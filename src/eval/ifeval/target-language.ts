/**
 * Target-language IFEval (`--lang fi`): which prompts to keep, and how many responses are
 * actually written in the target language.
 *
 * A translated IFEval keeps the reference's checkers. Prompts whose `language:response_language`
 * asks for a third language (neither English nor the target) are excluded, as in the Poro
 * post-training paper; `all` also drops the prompts that ask for the target language itself.
 */
import { DETECTOR_NAMES, getDetector, type DetectorName } from "../langid/index.ts";
import type { IfevalPrompt, PromptKey } from "./prompts.ts";

export const RESPONSE_LANGUAGE_ID = "language:response_language";

/** `other`: drop prompts asking for a language other than English or the target; `all`: drop every language prompt. */
export type LanguagePromptExclusion = "other" | "all";

export interface ExcludedPrompt {
  key: PromptKey;
  /** The language the prompt asks for. */
  language: string;
}

export interface TargetSelection {
  kept: IfevalPrompt[];
  excluded: ExcludedPrompt[];
}

function requestedLanguages(prompt: IfevalPrompt): string[] {
  const out: string[] = [];
  prompt.instructionIds.forEach((id, i) => {
    if (id === RESPONSE_LANGUAGE_ID) out.push(String(prompt.kwargs[i]!["language"]));
  });
  return out;
}

export function selectForTargetLanguage(prompts: readonly IfevalPrompt[], target: string, exclusion: LanguagePromptExclusion = "other"): TargetSelection {
  const kept: IfevalPrompt[] = [];
  const excluded: ExcludedPrompt[] = [];
  for (const prompt of prompts) {
    const foreign = requestedLanguages(prompt).find((lang) => exclusion === "all" || (lang !== "en" && lang !== target));
    if (foreign === undefined) kept.push(prompt);
    else excluded.push({ key: prompt.key, language: foreign });
  }
  return { kept, excluded };
}

export type { DetectorName };

export interface LanguageRate {
  detector: DetectorName;
  /** Responses detected as the target language. */
  matches: number;
  total: number;
  rate: number;
}

export interface ResponseLanguageReport {
  target: string;
  /** The detector of the headline rate (`--detector`). */
  primary: DetectorName;
  rates: Record<DetectorName, LanguageRate>;
  /** Responses on which the two detectors name different languages. */
  disagreements: number;
  disagreeing_keys: PromptKey[];
  /** Per response, what each detector said (`null`: no features / undetermined). */
  detected: { key: PromptKey; langdetect: string | null; eld: string | null }[];
}

/** The share of responses detected as `target`, by both detectors, and where they disagree. */
export async function responseLanguageRate(
  items: readonly { key: PromptKey; response: string }[],
  target: string,
  primary: DetectorName = "langdetect",
  onProgress?: () => void,
): Promise<ResponseLanguageReport> {
  const detectors = await Promise.all(DETECTOR_NAMES.map((name) => getDetector(name)));
  const detected: ResponseLanguageReport["detected"] = [];
  for (const item of items) {
    const [a, b] = detectors.map((d) => d.detect(item.response));
    detected.push({ key: item.key, langdetect: a ?? null, eld: b ?? null });
    onProgress?.();
  }
  const rate = (detector: DetectorName): LanguageRate => {
    const matches = detected.filter((d) => d[detector] === target).length;
    return { detector, matches, total: items.length, rate: items.length === 0 ? 0 : matches / items.length };
  };
  const disagreeing = detected.filter((d) => d.langdetect !== d.eld);
  return {
    target,
    primary,
    rates: { langdetect: rate("langdetect"), eld: rate("eld") },
    disagreements: disagreeing.length,
    disagreeing_keys: disagreeing.map((d) => d.key),
    detected,
  };
}
