/**
 * The truncated rule: a translation that stops before its source does. The signs of a cut (how the
 * text ends: unfinished.ts; what of its source it carries: alignment.ts) are each weighed against
 * how much shorter than usual the text is for its source (length-ratio.ts): the weaker the sign,
 * the larger the shortfall it needs.
 */
import type { Rule } from "./rules.ts";
import { isTinyBand, logRatio } from "./length-ratio.ts";
import { endsCleanly } from "./text-checks.ts";
import { lostFinalMark, unfinishedEnding, weakUnfinishedEnding } from "./unfinished.ts";

export const truncatedRule: Rule = (context, config) => {
  const reported = context.translatorIssues.find((issue) => issue.rule === "truncated");
  if (reported) return [{ rule: "truncated", field: context.path, detail: "generation hit the token limit" }];
  const { source, bounds } = context;
  if (source === undefined || bounds === undefined || context.target.trim() === "") return [];
  const sigma = Math.max(bounds.sigma, 0.05);
  const below = (k: number) => logRatio(source, context.target) < bounds.median - k * sigma;
  // Ends the way a cut text does (on a comma, inside a bracket, on "and") where the source does
  // not, and is shorter than usual for its source: whatever the length of the source.
  const unfinished = unfinishedEnding(source, context.target, context.targetLang);
  if (unfinished !== undefined && below(1)) {
    return [{ rule: "truncated", field: context.path, detail: `${unfinished} and is short for its source` }];
  }
  // A weaker sign (an ending real translations have now and then) with a clear shortfall.
  const weak = unfinished ?? weakUnfinishedEnding(source, context.target, context.targetLang);
  if (weak !== undefined && below(config.truncation.k)) {
    return [{ rule: "truncated", field: context.path, detail: `${weak} and is much shorter than usual for its source` }];
  }
  // Stops inside a word the file's translations have whole ("…一時ファイ" of ファイル): a translator
  // writes no such fragment, a cut falls anywhere in a script without spaces.
  const word = context.endings?.unfinishedWord(context.target, true);
  if (word !== undefined && below(1)) {
    const last = /[\p{Script=Katakana}ー]+$/u.exec(context.target.trimEnd())?.[0] ?? "";
    return [{ rule: "truncated", field: context.path, detail: `ends on "${last}", which this file's translations have only as the start of longer words ("${word}"), and is short for its source` }];
  }
  // Weaker still, so with a larger shortfall: no final punctuation where the source ends a
  // sentence (good Japanese and Hindi UI translations drop the mark about one time in ten). Not
  // in a file whose translations drop it as often as not (Thai has no full stop), nor unknown.
  const lost = lostFinalMark(source, context.target);
  const markLoss = context.finalMarkLoss ?? 1;
  if (lost !== undefined && markLoss < config.truncation.max_final_mark_loss && below(config.truncation.k_final_mark)) {
    return [{ rule: "truncated", field: context.path, detail: `${lost} and is much shorter than usual for its source` }];
  }
  if (source.length < config.truncation.min_source_chars) return [];
  // An ending the file's translations have inside their text far more often than at its end (a
  // word or a character that goes on: "…このパ", "…की विशेषता पाने"), with a shortfall: a learned
  // sign for any language, verb-final ones (Japanese, Hindi) above all, whose messages close on
  // a few verb forms. The target was learned from: judged against the file's other texts.
  const odds = context.endings?.cutOdds(source, context.target, true);
  if (odds !== undefined && odds >= config.truncation.min_ending_odds && !/\p{N}$/u.test(context.target.trimEnd()) && below(config.truncation.k)) {
    return [{ rule: "truncated", field: context.path, detail: `ends the way this file's translations go on inside, not the way they end (log-odds ${odds.toFixed(1)}), and is short for its source` }];
  }
  // Short for its source and carrying at most half of what the source says that a translation
  // keeps (its numbers and names, the words the file's pairs show translated): the missing part
  // was cut. A second signal, so a smaller shortfall (k_coverage) suffices even for short sources.
  // Found on at least three such tokens, or on two with none carried. A final number is no end
  // of a sentence here ("परिवर्तित JPEG2000", cut from "… JPEG2000 has zero width or height").
  const coverage = context.alignment?.sourceCoverage(source, context.target);
  if (!endsCleanly(context.target.replace(/\p{N}+\s*$/u, "")) && coverage !== undefined && (coverage.evidence >= 3 || coverage.found === 0) &&
    coverage.found <= config.truncation.max_source_coverage * coverage.evidence && below(config.truncation.k_coverage)) {
    return [{ rule: "truncated", field: context.path, detail: `carries ${coverage.found} of the ${coverage.evidence} numbers, names and known words of its source and is short for it` }];
  }
  if (endsCleanly(context.target)) return [];
  // Clearly short for this language pair, and stops mid-sentence: where the source ends a
  // sentence, or where it has no final mark (a UI label, a list item: its ending says nothing
  // about the target's). A target with all the lines of a multi-line unmarked source (a terse
  // list of answers) has its whole layout, which a cut one loses. Sources shorter than those the
  // bounds are learned from vary more in length ratio: judged by bounds learned from such short
  // sources (length-ratio.ts, the "tiny" band) they need a shortfall of k_short in their own
  // spread; judged by the longer ones' bounds (too few to learn from), of k_short_fallback.
  const tiny = source.length < config.length_ratio.min_source_chars;
  const k = !tiny ? config.truncation.k : isTinyBand(bounds) ? config.truncation.k_short : config.truncation.k_short_fallback;
  if (!below(k)) return [];
  const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "").length;
  if (!endsCleanly(source) && lines(source) >= 2 && lines(context.target) >= lines(source)) return [];
  return [{ rule: "truncated", field: context.path, detail: endsCleanly(source) ? "ends mid-sentence and is short for its source" : "much shorter than usual for its source" }];
};
