/**
 * The 25 registered IFEval instructions (`instructions_registry.INSTRUCTION_DICT`), by id.
 * The category of an id is the part before the colon (`detectable_format`).
 */
import { capitalWordFrequency, englishCapital, englishLowercase } from "./change-case.ts";
import { repeatPrompt, twoResponses } from "./combination.ts";
import { numberPlaceholders, postscript } from "./detectable-content.ts";
import {
  constrainedResponse,
  jsonFormat,
  multipleSections,
  numberBulletLists,
  numberHighlightedSections,
  title,
} from "./detectable-format.ts";
import { existence, forbiddenWords, frequency, letterFrequency } from "./keywords.ts";
import { responseLanguage } from "./language.ts";
import { nthParagraphFirstWord, numberParagraphs, numberSentences, numberWords } from "./length-constraints.ts";
import { noComma } from "./punctuation.ts";
import { endChecker, quotation } from "./startend.ts";
import type { InstructionDefinition } from "./types.ts";

export const INSTRUCTIONS: ReadonlyMap<string, InstructionDefinition> = new Map([
  ["keywords:existence", existence],
  ["keywords:frequency", frequency],
  ["keywords:forbidden_words", forbiddenWords],
  ["keywords:letter_frequency", letterFrequency],
  ["language:response_language", responseLanguage],
  ["length_constraints:number_sentences", numberSentences],
  ["length_constraints:number_paragraphs", numberParagraphs],
  ["length_constraints:number_words", numberWords],
  ["length_constraints:nth_paragraph_first_word", nthParagraphFirstWord],
  ["detectable_content:number_placeholders", numberPlaceholders],
  ["detectable_content:postscript", postscript],
  ["detectable_format:number_bullet_lists", numberBulletLists],
  ["detectable_format:constrained_response", constrainedResponse],
  ["detectable_format:number_highlighted_sections", numberHighlightedSections],
  ["detectable_format:multiple_sections", multipleSections],
  ["detectable_format:json_format", jsonFormat],
  ["detectable_format:title", title],
  ["combination:two_responses", twoResponses],
  ["combination:repeat_prompt", repeatPrompt],
  ["startend:end_checker", endChecker],
  ["change_case:capital_word_frequency", capitalWordFrequency],
  ["change_case:english_capital", englishCapital],
  ["change_case:english_lowercase", englishLowercase],
  ["punctuation:no_comma", noComma],
  ["startend:quotation", quotation],
]);

/** `detectable_format:title` → `detectable_format` (the reference's "tier0"). */
export function categoryOf(instructionId: string): string {
  const colon = instructionId.indexOf(":");
  return colon < 0 ? instructionId : instructionId.slice(0, colon);
}
