/** Text measurements the cleaning rules are built on. Pure functions, one job each. */
import { protectedSpans } from "../text/protect.ts";
import { withoutCodeLines } from "../text/code-shape.ts";
import { fencedCodeBlocks } from "../text/fences.ts";
import { MARKUP_TAG } from "../text/format-anchors.ts";
import { words } from "../text/words.ts";

/**
 * Text without fenced code, code-shaped lines outside fences, inline code, URLs, e-mails and
 * placeholders: what language-ID should see.
 */
export function proseOnly(text: string): string {
  let out = text;
  for (const block of fencedCodeBlocks(text)) out = out.replace(block, "\n");
  out = withoutCodeLines(out);
  // Code identifiers inside prose (snake_case, camelCase, dotted calls) are names, not language.
  out = out.replace(/[\w.]*_[\w.]+|\b[a-z]+[A-Z]\w*|\b\w+(?:\.\w+)+\(\)/g, " ");
  // Markup tags inside a sentence (`<key name='%s'> shadows …`) are names, not language.
  out = out.replace(MARKUP_TAG, " ");
  const spans = protectedSpans(out);
  for (let i = spans.length - 1; i >= 0; i--) {
    const span = spans[i]!;
    out = out.slice(0, span.start) + " " + out.slice(span.end);
  }
  return out;
}

export function letterCount(text: string): number {
  return text.match(/\p{L}/gu)?.length ?? 0;
}

/** The largest number of times one non-trivial line occurs. */
export function maxLineRepeats(text: string): { count: number; line: string } {
  const counts = new Map<string, number>();
  let best = { count: 0, line: "" };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (letterCount(line) < 10) continue;
    const count = (counts.get(line) ?? 0) + 1;
    counts.set(line, count);
    if (count > best.count) best = { count, line };
  }
  return best;
}

/**
 * Share of the target's lowercase words (3+ letters) that also occur in the source. Capitalised
 * words are left out: names and titles ("Satyajit Ray", "Cards Against Humanity") are rightly kept
 * as they are, while a text left untranslated keeps its ordinary words.
 */
export function wordOverlap(source: string, target: string): { share: number; words: number } {
  const sourceWords = new Set(words(source));
  const targetWords = lowercaseWords(target);
  if (targetWords.length === 0) return { share: 0, words: 0 };
  const shared = targetWords.filter((word) => sourceWords.has(word)).length;
  return { share: shared / targetWords.length, words: targetWords.length };
}

/** Words of 3+ characters that start with a lowercase letter (not names, not titles). */
export function lowercaseWords(text: string): string[] {
  return (text.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? [])
    .filter((word) => word.length >= 3 && /^\p{Ll}/u.test(word))
    .map((word) => word.toLowerCase());
}

/**
 * The words that say which language a text is in, leaving out names and titles: in cased scripts
 * the words of 3+ letters that start lowercase; in scripts without case (Devanagari, CJK, Thai,
 * Arabic …) every word, since case cannot single names out there.
 */
export function ordinaryWords(text: string): string[] {
  return (text.match(/[\p{L}\p{M}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? []).filter(
    (word) => /^\p{Lo}/u.test(word) || (word.length >= 3 && /^\p{Ll}/u.test(word)),
  );
}

/**
 * A list of short items (names, titles, languages) rather than prose: language-ID and word
 * overlap say little about such text, so those checks leave it alone.
 */
export function looksLikeList(text: string): boolean {
  const items = text
    .split(/[,;\n]/)
    .map((item) => item.replace(/^[\s\-*•·–]+|^\d+[.)]\s*/u, "").trim())
    .filter((item) => item !== "");
  if (items.length < 3) return false;
  const counts = items.map((item) => item.split(/\s+/).length).sort((a, b) => a - b);
  // No item holds most of the words: a sentence ending in a short enumeration
  // ("Answer with one of: yes, no, maybe") is prose, not a list.
  const total = counts.reduce((a, b) => a + b, 0);
  return counts[counts.length >> 1]! < 3 && counts[counts.length - 1]! < 0.5 * total;
}

/**
 * Sentences and lines of a text (for finding parts left untranslated). CJK full stops (。！？)
 * end a sentence with no space after them, so an English tail glued to Japanese text
 * ("…存在します。Do you want to replace it?") is a sentence of its own; a closing quote or
 * bracket right after the mark stays with its sentence. So do ASCII marks after Japanese or
 * Chinese text when a capital follows ("続行しますか?No data received.": such catalogs use them).
 */
export function sentencesOf(text: string): string[] {
  return text
    .split(/(?<=[.!?…])\s+|(?<=[。！？][」』）】〉》”’"]*)(?![。！？」』）】〉》”’"])\s*|(?<=[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}ー][.!?])(?=\p{Lu})|\n+/u)
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

export function paragraphs(text: string): string[] {
  return text.split(/\n[ \t]*\n/).map((part) => part.trim()).filter((part) => part !== "");
}

/** Counts of each distinct string. */
export function multiset(items: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Ends like a finished sentence (or list item, or code), in Latin, CJK or Devanagari punctuation. */
export function endsCleanly(text: string): boolean {
  return /[.!?…:;)\]}"'”’»`*>|\d。！？：；」』）】〉》।॥]\s*$/u.test(text.trimEnd()) || text.trimEnd().endsWith("```");
}

/**
 * The text without what a translation keeps as it is in a command's help: command-line options
 * ("--convert-links", "-K,", "--load-cookies=FILE") and placeholders in brackets
 * ("{script-only-if-no-other-script}", "[input-file]"). Their words are not the text's language.
 */
export function withoutOptions(text: string): string {
  return text.replace(/(?<![\p{L}\p{N}])--?[\p{L}\p{N}][\p{L}\p{N}_-]*(?:=\S+)?|\{[^{}\s]+\}|\[[^[\]\s]+\]/gu, " ");
}
