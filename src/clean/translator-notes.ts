/**
 * Translator scaffolding in any wording: text of the target without a counterpart in the source —
 * an extra first or last paragraph, a first line announcing what follows, a note in parentheses —
 * that talks about translating. LLM translators add such prefaces ("Here is the Finnish version:"),
 * closing remarks ("I hope this translation helps") and asides ("(translator's note: …)") in the
 * target language or in English.
 *
 * No phrase list can keep up with the wordings, so the check is structural (the unit is extra:
 * the source has fewer paragraphs, or no such parenthetical) and the vocabulary is only of the
 * concept: stems for translate / translation / original text / literally / "in <language>" in
 * English, Finnish, Hindi and Japanese. When the source itself talks about translating, nothing is
 * flagged: the target then rightly does too.
 */
import { paragraphs } from "./text-checks.ts";

const LANGUAGES = "English|Finnish|Swedish|German|French|Spanish|Italian|Portuguese|Russian|Chinese|Japanese|Korean|Hindi|Arabic|Thai|Estonian";

/** Words about translating, per language (stems, so inflected forms match). */
const ABOUT_TRANSLATION: readonly RegExp[] = [
  new RegExp(
    `\\btranslat|\\brender(?:ed|ing)\\b|\\boriginal (?:text|message|version|wording|form)|\\bliterally\\b|\\b(?:${LANGUAGES}) (?:version|text|rendering)\\b|\\b(?:in|into|from) (?:${LANGUAGES})\\b`,
    "i",
  ),
  /käänn|käänt|suomenn|suomentaj|suomeksi|suomenkieli|alkuteksti|alkuperäi|kirjaimellisesti|englanniksi|englanninkieli|kielelle\b/i,
  /अनुवाद|अनूदित|रूपांतर|मूल पाठ|मूल अंग्रेज़ी|शाब्दिक|हिंदी में/u,
  /翻訳|訳注|訳文|訳出|日本語訳|原文|直訳|意訳/u,
];

/** A parenthetical that is a note by its opening word, whatever it then says. */
const NOTE_OPENING = /^[\s*_]*(?:note|nb|n\.b\.|huom|huomautus|注|※|टिप्पणी|नोट)(?:[.:：]|\s+\p{L})/iu;

const PARENTHETICAL = /\(([^()\n]{3,200})\)|（([^（）\n]{2,200})）|\[([^[\]\n]{3,200})\]/gu;

function aboutTranslation(text: string): boolean {
  return ABOUT_TRANSLATION.some((pattern) => pattern.test(text));
}

/** The first note of the target that the source has no counterpart for, or undefined. */
export function translatorNote(source: string, target: string): string | undefined {
  if (aboutTranslation(source)) return undefined;
  const sourceParagraphs = paragraphs(source);
  const targetParagraphs = paragraphs(target);
  if (targetParagraphs.length > sourceParagraphs.length) {
    const edges = [targetParagraphs[0]!, targetParagraphs[targetParagraphs.length - 1]!];
    for (const paragraph of edges) if (aboutTranslation(paragraph) || NOTE_OPENING.test(paragraph)) return paragraph;
  }
  // A first line that announces what follows ("Tässä suomennos:") on its own line.
  const firstLine = target.trimStart().split("\n")[0]!;
  const sourceFirstLine = source.trimStart().split("\n")[0]!;
  if (/[:：]\s*$/u.test(firstLine) && !/[:：]\s*$/u.test(sourceFirstLine) && aboutTranslation(firstLine)) return firstLine;
  // Notes in parentheses or brackets that the source does not have.
  const sourceNotes = [...source.matchAll(PARENTHETICAL)].length;
  const targetNotes = [...target.matchAll(PARENTHETICAL)].map((match) => (match[1] ?? match[2] ?? match[3])!);
  if (targetNotes.length > sourceNotes || sourceNotes === 0) {
    // One word is no note: "(englanniksi)", "(in English)" says which language a thing is in (real
    // catalogs: "Ilmoita ohjelmistovioista (englanniksi) osoitteeseen: %s"); a note says more.
    const saysMore = (note: string) => note.trim().split(/\s+/u).length >= 2 || (note.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu)?.length ?? 0) >= 4;
    for (const note of targetNotes) if (saysMore(note) && (aboutTranslation(note) || NOTE_OPENING.test(note))) return note;
  }
  // A last sentence about the translation appended to the last paragraph.
  const lastSentence = target.trimEnd().split(/(?<=[.!?。！？।])\s*/u).filter((part) => part.trim() !== "").pop() ?? "";
  const sourceLast = source.trimEnd().split(/(?<=[.!?。！？।])\s*/u).filter((part) => part.trim() !== "").length;
  const targetSentences = target.trimEnd().split(/(?<=[.!?。！？।])\s*/u).filter((part) => part.trim() !== "").length;
  if (targetSentences > sourceLast && aboutTranslation(lastSentence)) return lastSentence;
  return undefined;
}
