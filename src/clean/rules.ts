/**
 * The cleaning rules. Each looks at one text field of a translated record (with its source text
 * when known) and returns findings. The record-level decision (drop the whole conversation or pair
 * if any field has a finding) is made in `clean.ts`.
 */
import { LangDetectException, detect, detectLangs } from "../eval/langid/langdetect.ts";
import { protectedSpans } from "../text/protect.ts";
import type { ScaffoldingMarker } from "../text/scaffolding.ts";
import { fencedCodeBlocks } from "../text/fences.ts";
import { anchorDifference } from "../text/format-anchors.ts";
import { letterWeight, requiredScriptsOf, scriptCounts, scriptOfLetter, scriptsOf, scriptWeight, type Script } from "../text/scripts.ts";
import type { CleanConfig, RuleName } from "./config.ts";
import { translatorNote } from "./translator-notes.ts";
import { truncatedRule } from "./truncated.ts";
import type { AlignmentModel } from "./alignment.ts";
import type { EndingModel } from "./endings.ts";
import { logRatio, type RatioBounds } from "./length-ratio.ts";
import {
  letterCount,
  maxLineRepeats,
  multiset,
  looksLikeList,
  lowercaseWords,
  ordinaryWords,
  proseOnly,
  sentencesOf,
  withoutOptions,
  wordOverlap,
} from "./text-checks.ts";
import { longestRepeatRun, words } from "../text/words.ts";

export interface Finding {
  rule: RuleName;
  field: string;
  detail: string;
}

export interface FieldContext {
  path: string;
  target: string;
  /** The source text of this field, when known. */
  source: string | undefined;
  targetLang: string;
  sourceLang: string | undefined;
  /** Bounds for this field's language pair (absent when there is no source). */
  bounds: RatioBounds | undefined;
  /** What the misaligned rule learned for this field's language pair (absent: no source, or too few pairs). */
  alignment: AlignmentModel | undefined;
  /** The record this field belongs to (its line), whose other fields are no rival source to it: they share its topic words. */
  group?: string | undefined;
  /** How often the file's translations of this language pair drop the final mark their source ends on (absent: unknown). */
  finalMarkLoss?: number | undefined;
  /** How the file's translations of this language pair end, against how they go on inside (absent: too few to learn from). */
  endings?: EndingModel | undefined;
  /** Issues the translator recorded for this field (meta.translation.issues). */
  translatorIssues: { rule: string; detail: string }[];
  /** Strings of the translation prompt that must not show up in outputs. */
  scaffolding: readonly ScaffoldingMarker[];
}

/** A text cut for a message: its first line, at most 60 characters. */
function clip(text: string): string {
  const line = text.trim().split("\n")[0]!;
  return line.length > 60 || text.trim().includes("\n") ? `${line.slice(0, 60)}…` : line;
}

export type Rule = (context: FieldContext, config: CleanConfig) => Finding[];

/** Generic leaked-prompt patterns, whatever the template: "Translation:", "Finnish:", `<fi>` … */
const SCAFFOLDING_PATTERNS: readonly RegExp[] = [
  /^\s*(?:translation|translated text|finnish|english|swedish|source|target|suomeksi|käännös|suomennos|englanniksi)\s*:/im,
  /<\/?(?:en|fi|sv|de|source|target|translation)>/i,
  /⟦\s*\d+\s*⟧/,
  /\b(?:here is the translation|here's the translation|tässä on käännös|tässä käännös)\b/i,
];

/** Language-ID's guesses, most likely first; none for a text it cannot read. */
function safeDetectLangs(text: string): { lang: string; prob: number }[] {
  try {
    return detectLangs(text);
  } catch (error) {
    if (error instanceof LangDetectException) return [];
    throw error;
  }
}

/** Language-ID without doubt (≥ 0.9) for this language. */
function isLanguage(text: string, lang: string): boolean {
  const top = safeDetectLangs(text)[0];
  return top !== undefined && top.lang === lang && top.prob >= 0.9;
}

/**
 * A sentence that language-ID puts in another language than the source's with no doubt (German
 * quoted in an English answer about German): kept as the source has it, not left untranslated.
 * Read on the whole sentence, names included: its ordinary words alone are too few to tell.
 */
function quotedLanguage(sentence: string, sourceLang: string): boolean {
  const guesses = safeDetectLangs(sentence);
  return guesses[0] !== undefined && guesses[0].prob >= 0.9 && !guesses.some((guess) => guess.lang === sourceLang);
}

function safeDetect(text: string): string | null {
  try {
    return detect(text);
  } catch (error) {
    if (error instanceof LangDetectException) return null;
    throw error;
  }
}

export const RULE_FUNCTIONS: Record<RuleName, Rule> = {
  empty(context) {
    if (context.target.trim() !== "") return [];
    if (context.source !== undefined && context.source.trim() === "") return [];
    return [{ rule: "empty", field: context.path, detail: "the translation is empty" }];
  },

  "wrong-language"(context, config) {
    const prose = proseOnly(context.target);
    // The script first: most of the text in scripts the target language is not written in is the
    // wrong language whatever language-ID says, and needs less text to tell.
    // Words also in the source (kept names, identifiers, UI labels) say nothing about the language.
    const sourceWords = new Set(context.source === undefined ? [] : words(context.source));
    const ownWords = prose.replace(/[\p{L}\p{M}\p{N}]+/gu, (word) => (sourceWords.has(word.toLowerCase()) ? " " : word));
    const wrongScript = foreignScript(ownWords, context.targetLang, config.language.min_script_letters);
    if (wrongScript !== undefined) return [{ rule: "wrong-language", field: context.path, detail: wrongScript }];
    // The text is mostly in the target's scripts: what is in other scripts are kept names and
    // options ("不正形式の dumpdir: 'X' が未使用"), which language-ID would weigh like the rest
    // (it read that one as Catalan). It reads the target's scripts only, without command-line options.
    const expected = scriptsOf(context.targetLang);
    const readable = withoutOptions(prose).replace(/[\p{L}\p{M}]/gu, (letter) => {
      const script = scriptOfLetter(letter);
      return expected.includes(script) || script === "Other" ? letter : " ";
    });
    if (letterWeight(readable) < config.language.min_letters) return [];
    const lang = safeDetect(readable);
    if (lang === null || sameLanguage(lang, context.targetLang, readable)) return [];
    // Names and titles mislead language-ID on short texts ("Malediivit (parhaat All inclusive
    // -resortit) Mauritius Cancun" → ro). Confirm on the ordinary words (not capitalised, or in a
    // script without case); too few of them means the text is mostly names, and no verdict is given.
    // Each word once: a list repeating one word ("5 mitalia" five times) is not five words of evidence.
    const ordinary = [...new Set(ordinaryWords(readable))].join(" ");
    if (letterWeight(ordinary) < config.language.min_letters || looksLikeList(prose)) return [];
    const confirmed = safeDetect(ordinary);
    if (confirmed === null || sameLanguage(confirmed, context.targetLang, readable)) return [];
    return [{ rule: "wrong-language", field: context.path, detail: `detected ${lang}, expected ${context.targetLang}` }];
  },

  untranslated(context, config) {
    if (context.source === undefined || context.sourceLang === undefined) return [];
    const findings: Finding[] = [];
    const source = context.source.trim();
    const target = context.target.trim();
    const sourceProse = proseOnly(source);
    // Between languages of different scripts, a copy is a copy however short (a Hindi UI string
    // identical to its English source); in the same script a short one may be a name or a title.
    const otherScript = !scriptsOf(context.targetLang).some((script) => scriptsOf(context.sourceLang!).includes(script));
    if (target !== "" && target === source && letterCount(sourceProse) >= 20 && (otherScript || words(sourceProse).length >= config.untranslated.min_words)) {
      return [{ rule: "untranslated", field: context.path, detail: "identical to the source" }];
    }
    // Ordinary words of the source left in a target of another script (a half-translated UI string).
    if (otherScript) {
      const sourceWords = new Set(lowercaseWords(sourceProse));
      // Paths and dotted names ("/system/proxy/https"), command-line options and placeholders
      // in brackets are kept verbatim on purpose.
      const targetProse = withoutOptions(proseOnly(target).replace(/\S*[/\\.]\S*[/\\.]\S*/g, " "));
      const left = lowercaseWords(targetProse).filter((word) => sourceWords.has(word));
      const leftLetters = letterCount(left.join(""));
      if (left.length >= 3 && leftLetters >= config.untranslated.max_left_share * 2 * letterWeight(targetProse) && leftLetters >= 15) {
        return [{ rule: "untranslated", field: context.path, detail: `${left.length} ordinary words of the source left as they are: "${left.slice(0, 5).join(" ")}"` }];
      }
    }
    const overlap = wordOverlap(proseOnly(source), proseOnly(target));
    // In another script the overlap of Latin words says nothing (they are the kept terms); the checks above cover it.
    if (!otherScript && !looksLikeList(proseOnly(target)) &&
      overlap.words >= config.untranslated.min_words && overlap.share > config.untranslated.max_word_overlap) {
      findings.push({
        rule: "untranslated",
        field: context.path,
        detail: `${Math.round(overlap.share * 100)}% of its words are source words`,
      });
      return findings;
    }
    // Parts left in the source language (partial translations): sentences copied verbatim from
    // the source, or long sentences that language-ID puts in the source language. Flagged when
    // they make up a real share of the text (a quoted title or name in English is fine).
    const sourceProseText = proseOnly(source);
    const sentences = sentencesOf(proseOnly(target));
    let total = 0;
    let left = 0;
    // A whole sentence of ordinary prose copied verbatim from the source is a partial translation
    // whatever its share (an English tail after a Finnish start); names and titles are not
    // ordinary lowercase words, so a kept title or list of brands does not count.
    // A short one counts when it is a whole sentence of the source ("Why is this happening?" left
    // after a translated start), not a phrase that may also stand in a translation.
    // (Or the end of one: "eggs.How many eggs I have?" is one sentence to the splitter.)
    const sourceSentences = sentencesOf(sourceProseText);
    const endsSourceSentence = (sentence: string) =>
      sourceSentences.some((whole) => whole === sentence || (whole.endsWith(sentence) && !/[\p{L}\p{N}]/u.test(whole.at(-sentence.length - 1)!)));
    // The source's last sentence may end without a full stop, as chat messages do.
    const sourceEnd = sourceSentences.at(-1);
    let copiedSentence: string | undefined;
    for (const [index, sentence] of sentences.entries()) {
      const letters = letterCount(sentence);
      total += letters;
      const lowercase = lowercaseWords(sentence);
      const endsLikeSentence = isProseSentence(sentence) || /^\([^()]*\)$/.test(sentence) ||
        (index === sentences.length - 1 && sentence === sourceEnd && !/--|[_/\\=<>{}]/u.test(sentence) && !looksLikeList(sentence) &&
          lowercase.length >= 4 && isLanguage(sentence, context.sourceLang));
      // Short words count here ("What does it do?"); in a target of another script two words
      // suffice ("…。Choose another."): no translation keeps a whole sentence of its source.
      const small = sentence.match(/(?<![\p{L}\p{N}])\p{Ll}\p{L}+/gu)?.length ?? 0;
      const wholeCopy = lowercase.length >= 1 && endsLikeSentence && endsSourceSentence(sentence) &&
        ((words(sentence).length >= 3 && small >= 2) || (otherScript && words(sentence).length >= 2 && isProseSentence(sentence)));
      const copied = sourceProseText.includes(sentence) && words(sentence).length >= 4;
      const longCopy = copied && lowercase.length >= 4 && endsLikeSentence;
      // A sentence in a third language, quoted alike in source and target, is no copy; language-ID
      // only tells that of a sentence long enough to read.
      if ((wholeCopy || longCopy) && !(letterCount(sentence) >= 20 && quotedLanguage(sentence, context.sourceLang))) copiedSentence ??= sentence;
      if (lowercase.length < 3) continue;
      // Language-ID on the ordinary (lowercase) words only: a Finnish sentence full of English
      // titles and names ("… ovat Old School, Blades of Glory …") is still Finnish.
      const ordinary = lowercase.join(" ");
      const inSource = !copied && letterCount(ordinary) >= config.untranslated.sentence_min_letters && safeDetect(ordinary) === context.sourceLang;
      if (copied || inSource) left += letters;
    }
    if (copiedSentence !== undefined) {
      findings.push({ rule: "untranslated", field: context.path, detail: `a sentence copied from the source: "${copiedSentence.slice(0, 60)}"` });
      return findings;
    }
    if (looksLikeList(proseOnly(target))) return findings;
    if (left >= config.untranslated.min_left_letters && left >= config.untranslated.max_left_share * total) {
      findings.push({
        rule: "untranslated",
        field: context.path,
        detail: `${Math.round((100 * left) / Math.max(1, total))}% of its text is still in ${context.sourceLang}`,
      });
    }
    return findings;
  },

  "length-ratio"(context, config) {
    const { source, bounds } = context;
    if (source === undefined || bounds === undefined || context.target.trim() === "") return [];
    if (source.length < config.length_ratio.min_source_chars) return [];
    const ratio = logRatio(source, context.target);
    if (ratio >= bounds.low && ratio <= bounds.high) return [];
    return [
      {
        rule: "length-ratio",
        field: context.path,
        detail: `length ratio ${Math.exp(ratio).toFixed(2)} outside [${Math.exp(bounds.low).toFixed(2)}, ${Math.exp(bounds.high).toFixed(2)}] (${bounds.source} for ${bounds.pair})`,
      },
    ];
  },

  repetition(context, config) {
    const run = longestRepeatRun(context.target);
    const sourceRun = context.source === undefined ? { repeats: 1 } : longestRepeatRun(context.source);
    const findings: Finding[] = [];
    if (run.repeats >= config.repetition.min_repeats && run.runWords >= config.repetition.min_run_words && run.repeats > sourceRun.repeats) {
      findings.push({
        rule: "repetition",
        field: context.path,
        detail: `"${run.unit.slice(0, 60)}" repeated ${run.repeats} times in a row`,
      });
      return findings;
    }
    const lines = maxLineRepeats(context.target);
    const sourceLines = context.source === undefined ? { count: 0 } : maxLineRepeats(context.source);
    if (lines.count >= config.repetition.min_repeats && lines.count > sourceLines.count) {
      findings.push({ rule: "repetition", field: context.path, detail: `line "${lines.line.slice(0, 60)}" occurs ${lines.count} times` });
    }
    return findings;
  },

  scaffolding(context, config) {
    const source = context.source ?? "";
    const markers: ScaffoldingMarker[] = [...context.scaffolding, ...config.scaffolding.markers.map((text) => ({ text }))];
    for (const marker of markers) {
      if (!context.target.includes(marker.text) || source.includes(marker.text)) continue;
      // The few-shot example's own source, translated as the example says, is no leak.
      if (marker.exampleSource !== undefined && proseOnly(source).includes(proseOnly(marker.exampleSource).replace(/\s+/g, " ").trim())) continue;
      return [{ rule: "scaffolding", field: context.path, detail: `contains prompt text ${JSON.stringify(marker.text.slice(0, 40))}` }];
    }
    for (const pattern of SCAFFOLDING_PATTERNS) {
      const match = pattern.exec(context.target);
      if (match !== null && !pattern.test(source)) {
        return [{ rule: "scaffolding", field: context.path, detail: `contains ${JSON.stringify(match[0].trim())}` }];
      }
    }
    if (context.source === undefined) return [];
    const note = translatorNote(context.source, context.target);
    if (note !== undefined) return [{ rule: "scaffolding", field: context.path, detail: `a note the source does not have: ${JSON.stringify(note.slice(0, 60))}` }];
    return [];
  },

  truncated: truncatedRule,

  "code-block"(context) {
    if (context.source === undefined) return [];
    const sourceBlocks = multiset(fencedCodeBlocks(context.source).map((block) => block.trim()));
    if (sourceBlocks.size === 0) return [];
    const targetBlocks = multiset(fencedCodeBlocks(context.target).map((block) => block.trim()));
    let missing = 0;
    for (const [block, count] of sourceBlocks) missing += Math.max(0, count - (targetBlocks.get(block) ?? 0));
    if (missing === 0) return [];
    return [{ rule: "code-block", field: context.path, detail: `${missing} code block(s) of the source lost or altered` }];
  },

  misaligned(context, config) {
    const { source, alignment } = context;
    if (source === undefined || alignment === undefined || context.target.trim() === "") return [];
    // Both directions: the target's evidence found in the source, and the source's found in the
    // target; either alone gives a verdict (a target of kept names and numbers, a source of them).
    const coverage = alignment.coverage(source, context.target);
    const carried = alignment.sourceCoverage(source, context.target);
    if (coverage === undefined && carried === undefined) return [];
    const own = (coverage === undefined ? 0 : alignment.logOdds(coverage)) + (carried === undefined ? 0 : alignment.logOddsSource(carried));
    // Another source of the file that explains the target as a good translation would (the text it
    // was translated from, when rows shifted) adds its evidence: the likelihood ratio of "it
    // translates that source" over "it translates its own", less a margin for picking the best of several.
    const rival = alignment.rival(source, context.target, context.group);
    const margin = rival === undefined ? 0 : Math.max(0, rival.odds - config.misaligned.rival_margin);
    const odds = own + margin;
    if (odds < config.misaligned.min_log_odds) return [];
    const pct = (value: number) => `${Math.round(100 * value)}%`;
    const parts = [
      ...(coverage === undefined ? [] : [`${coverage.found} of ${coverage.evidence} target anchors and learned word counterparts found in the source (good translations ${pct(alignment.p_good)}, another text ${pct(alignment.p_chance)})`]),
      ...(carried === undefined ? [] : [`${carried.found} of ${carried.evidence} of the source's carried in the target (good ${pct(alignment.p_source)}, another text ${pct(alignment.p_source_chance)})`]),
      ...(margin > 0 ? [`it translates another source of the file better (log-odds +${margin.toFixed(1)}: "${clip(rival!.source)}")`] : []),
    ];
    return [
      {
        rule: "misaligned",
        field: context.path,
        detail: `${parts.join("; ")} for ${alignment.pair}; log-odds ${odds.toFixed(1)}`,
      },
    ];
  },

  placeholder(context) {
    const findings: Finding[] = context.translatorIssues
      .filter((issue) => issue.rule === "placeholder")
      .slice(0, 1)
      .map((issue) => ({ rule: "placeholder" as const, field: context.path, detail: issue.detail }));
    if (findings.length > 0 || context.source === undefined) return findings;
    // Without translator notes, check the spans a translator must keep verbatim: inline code, URLs
    // and e-mail addresses. Not [placeholders] or numbers with units: those are often rightly
    // localised ("[Name]" → "[Nimi]", "50%" → "50 %"), and kielo's own translations report
    // placeholder damage through the translator notes above.
    const prose = context.source.replace(/```[\s\S]*?```/g, " ");
    // Format directives and markup tags a program reads (`%s`, `%1$d`, `{0}`, `<b>`): their number
    // and kinds must match, as msgfmt --check-format demands of every gettext translation. Code is
    // left out (a code block may rightly differ; the code-block rule judges it).
    const withoutCode = (text: string) => text.replace(/```[\s\S]*?```/g, " ").replace(/(`+)[^`\n]+?\1/g, " ");
    const difference = anchorDifference(withoutCode(context.source), withoutCode(context.target));
    if (difference.missing.length > 0 || difference.extra.length > 0) {
      const what = [difference.missing.length > 0 ? `lost ${difference.missing.join(" ")}` : "", difference.extra.length > 0 ? `added ${difference.extra.join(" ")}` : ""].filter(Boolean).join(", ");
      return [{ rule: "placeholder", field: context.path, detail: `format directives or markup tags differ from the source's: ${what}` }];
    }
    for (const span of protectedSpans(prose)) {
      if (span.kind !== "inline-code" && span.kind !== "url" && span.kind !== "email") continue;
      const value = prose.slice(span.start, span.end);
      // GNU messages quote `like this' with a backquote and an apostrophe: a quotation, which a
      // translation rightly renders in its own quotes (”e”, 「e」), not code.
      if (span.kind === "inline-code" && /^`[^`\n]*'/.test(value)) continue;
      if (!context.target.includes(value)) {
        return [{ rule: "placeholder", field: context.path, detail: `${span.kind} ${JSON.stringify(value.slice(0, 60))} lost or altered` }];
      }
    }
    return [];
  },
};

/**
 * Whether language-ID's answer agrees with the target. Codes name variants ("zh-cn"); a target
 * given as "zh" or "zh-CN" matches either. An answer the text's script rules out counts as agreeing
 * (no verdict), since then language-ID has misread the text, not found another language.
 */
function sameLanguage(detected: string, target: string, text: string): boolean {
  const base = (code: string) => code.toLowerCase().split(/[-_]/)[0]!;
  if (base(detected) === base(target)) return true;
  // A language whose script is not in the text at all (Korean without Hangul) is a misreading.
  const counts = scriptCounts(text);
  const present = (scripts: readonly Script[]) => scripts.some((script) => (counts.get(script) ?? 0) > 0);
  const required = requiredScriptsOf(detected);
  if (!present(scriptsOf(detected)) || (required.length > 0 && !present(required))) return true;
  // Kanji-heavy Japanese is often read as Chinese; Chinese has no kana, so kana settle it.
  return base(target) === "ja" && base(detected) === "zh" && /[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(text);
}

/**
 * "written in X" when most of the text (weighted as letterWeight does) is in scripts the target
 * language is not written in; undefined when too short to tell or in the right script.
 */
function foreignScript(prose: string, targetLang: string, minLetters: number): string | undefined {
  const expected = scriptsOf(targetLang);
  let total = 0;
  let inExpected = 0;
  const other = new Map<Script, number>();
  const counts = scriptCounts(prose);
  for (const [script, count] of counts) {
    const weight = count * scriptWeight(script);
    total += weight;
    if (expected.includes(script)) inExpected += weight;
    else other.set(script, (other.get(script) ?? 0) + weight);
  }
  const required = requiredScriptsOf(targetLang);
  if (required.length > 0 && inExpected >= minLetters && !required.some((script) => (counts.get(script) ?? 0) > 0)) {
    return `no ${required.join("/")} letters, which ${targetLang} text has`;
  }
  if (total - inExpected < minLetters || inExpected >= 0.5 * total) return undefined;
  const main = [...other].sort((a, b) => b[1] - a[1])[0]![0];
  return `written in ${main} script (${Math.round((100 * (total - inExpected)) / total)}%), expected ${expected.join("/")} for ${targetLang}`;
}

/**
 * A sentence of running prose: it ends like a sentence and has none of the marks of a command or
 * code (`--flag`, paths, `snake_case`, `a=b`, braces), which are rightly left as they are.
 */
function isProseSentence(sentence: string): boolean {
  const text = sentence.trim();
  return /[.!?…]["'”’)]*$/u.test(text) && !/--|[_/\\=<>{}]/u.test(text);
}
