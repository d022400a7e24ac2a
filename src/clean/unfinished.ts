/**
 * How a text cut short ends, whatever its length: on a comma, inside brackets or quotes it opened,
 * or on a word that cannot end a sentence in its language — a conjunction, a preposition or
 * article, and in head-final languages (Japanese, Hindi) a case particle or postposition, since
 * there the predicate comes last. Real translations of a source that does not end that way have
 * none of these; a generation that hit its token limit, or a segment cut in two, often has one.
 */
import { namesOf } from "./alignment.ts";

/** Words that cannot end a sentence, per language (closed classes; lowercase). */
const DANGLING: Record<string, readonly string[]> = {
  en: ["a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "from", "by", "that", "which", "if", "because", "than", "as", "into"],
  // Conjunctions and relative pronouns; Finnish has no articles and few prepositions.
  fi: ["ja", "tai", "sekä", "että", "mutta", "vaan", "kun", "jos", "koska", "jotta", "kuin", "eli", "joka", "jonka", "jota", "jossa", "josta", "johon", "jolla", "jotka", "joiden", "joita", "joissa", "mikä", "mitä", "missä", "kuten"],
  // Conjunctions and the ergative ने. Not the postpositions that close an adverbial ("…, सेकेंड में"
  // for "…, in seconds", the way UI labels end), nor की, which is also a verb ("did").
  hi: ["ने", "और", "या", "तथा", "एवं", "कि", "यदि", "अगर", "लेकिन", "परंतु", "किंतु"],
  sv: ["och", "eller", "men", "att", "som", "av", "till", "i", "på", "för", "med", "från", "en", "ett", "den", "det"],
  de: ["und", "oder", "aber", "dass", "der", "die", "das", "ein", "eine", "von", "zu", "mit", "für", "auf", "in", "an", "aus"],
};

/**
 * Japanese subject and object particles (after a kanji, katakana or Latin word: "ですが" is a
 * conjunction) and conjunctions, which a clause cannot stop on. Not に, で,
 * から … : UI labels end on them elliptically ("…を無効に" for "Disable …", "ファイルから").
 */
const JA_DANGLING = /(?<=[^\p{Script=Hiragana}])(?:が|を)$|(?:や|および|または|そして|しかし)$/u;

// Brackets and the quotes that have distinct opening and closing marks. Not " or ” (Finnish and
// Swedish quote ”like this”, one mark for both ends) or “ (German closes with it).
const OPEN_CLOSE: readonly [string, string][] = [
  ["(", ")"], ["[", "]"], ["{", "}"], ["（", "）"], ["「", "」"], ["『", "』"], ["【", "】"], ["《", "》"], ["〈", "〉"], ["«", "»"],
];

/** Brackets or quotes the text opens and does not close; 0 when balanced. */
export function unclosed(text: string): number {
  let open = 0;
  for (const [opening, closing] of OPEN_CLOSE) {
    const depth = text.split(opening).length - text.split(closing).length;
    if (depth > 0) open += depth;
  }
  return open;
}

/** Why the text looks cut off at its end, or undefined. */
export function unfinishedEnding(source: string, target: string, targetLang: string): string | undefined {
  const end = target.trimEnd();
  const sourceEnd = source.trimEnd();
  if (/[,，、،]$/u.test(end) && !/[,，、،]$/u.test(sourceEnd)) return "ends on a comma";
  // In the last line only: a long text may have a stray bracket far from its end.
  const lastLine = (text: string) => text.slice(text.lastIndexOf("\n") + 1);
  if (unclosed(lastLine(end)) > unclosed(lastLine(sourceEnd))) return "a bracket or quote it opened is not closed";
  // The source ends with a parenthesis ("… (bad TIFF file)") and the target has fewer of them and
  // does not end with one: its closing parenthetical is gone. (Parentheses only: citation marks
  // like "[12]" move around the final period in translation.)
  const parentheses = (text: string) => (text.match(/[(（]/gu) ?? []).length;
  if (/[)）]$/u.test(sourceEnd) && !/[)）]$/u.test(end) && parentheses(end) < parentheses(sourceEnd)) return "lost the parenthesis the source ends with";
  // A name or identifier of the source stopped mid-word ("GTK_TEST_TOUCH", cut from
  // GTK_TEST_TOUCHSCREEN; "AtkHyperli"): translations keep such names whole.
  const lastName = /[\p{L}\p{N}_.]{3,}$/u.exec(end)?.[0];
  const names = namesOf(source).split(" ");
  if (lastName !== undefined && !names.includes(lastName)) {
    const cut = names.find((name) => name.length > lastName.length && name.startsWith(lastName));
    if (cut !== undefined && !target.includes(cut)) return `stops inside the name "${cut}" of its source`;
  }
  const lang = targetLang.toLowerCase().split(/[-_]/)[0]!;
  // Hindi: an oblique infinitive with a genitive postposition ("खोलने के", "of opening") needs the
  // noun or postposition that follows it ("खोलने के लिए").
  if (lang === "hi" && /\p{L}+\p{M}*ने\s+(?:के|की|का)$/u.test(end)) return `ends on "${end.split(/\s+/).slice(-2).join(" ")}", which needs a following word`;
  if (lang === "ja") {
    const match = JA_DANGLING.exec(end);
    return match === null ? undefined : `ends on the particle ${match[0]}`;
  }
  const last = /([\p{L}\p{M}]+)$/u.exec(end)?.[1]?.toLowerCase();
  if (last !== undefined && DANGLING[lang]?.includes(last)) return `ends on "${last}", which cannot end a sentence`;
  return undefined;
}

/**
 * Japanese endings that a clause seldom stops on but a label may: the topic particle は, と ("and",
 * quotative), the genitive の, the attributive な of a na-adjective (認識可能な), も, へ, after a
 * kanji, katakana or Latin word; and the adnominals この/その/あの/どの, which need their noun.
 */
const JA_WEAK = /(?<=[^\p{Script=Hiragana}])(?:は|と|の|な|も|へ)$|(?:この|その|あの|どの)$/u;
/**
 * A case particle (を, に, へ, で, が after a non-hiragana word) followed only by a noun to the end:
 * the predicate the particle points to is missing ("キーボードをウィンドウ", cut from "…ウィンドウへ
 * 埋め込めるようにするかどうか"). UI labels do end that way now and then ("…バックアップを処理"), so it
 * is a weaker sign; a tail inside brackets or after a comma is a clause of its own, not counted.
 */
const JA_NOUN_AFTER_PARTICLE = /(?<=[^\p{Script=Hiragana}])([をにへでが])[^\p{Script=Hiragana}()（）「」、。,.]+$/u;
/** Hindi words ending like an oblique plural that are not one: "be" (subjunctive), "why", "thus", "as if", "both" … */
const HI_NOT_OBLIQUE = ["हों", "क्यों", "यों", "त्यों", "ज्यों", "मानों", "दोनों", "तीनों", "चारों"];
/** Hindi postpositions, which close a noun phrase that a verb or a head noun should follow. */
const HI_POSTPOSITIONS = ["को", "का", "के", "की", "से", "में", "पर", "तक", "हेतु", "लिए", "लिये", "द्वारा"];

/**
 * A weaker sign of a cut: an ending that real translations have now and then (a Hindi label
 * "…, सेकेंड में", "in seconds"), so it counts only together with a clear shortfall in length.
 */
export function weakUnfinishedEnding(source: string, target: string, targetLang: string): string | undefined {
  const end = target.trimEnd();
  const sourceEnd = source.trimEnd();
  if (/[:;：；]$/u.test(end) && !/[:;：；]$/u.test(sourceEnd)) return "ends on a colon the source does not end with";
  const lang = targetLang.toLowerCase().split(/[-_]/)[0]!;
  if (lang === "ja") {
    const match = JA_WEAK.exec(end);
    if (match !== null) return `ends on ${match[0]}, which a sentence seldom ends on`;
    const particle = JA_NOUN_AFTER_PARTICLE.exec(end);
    return particle === null ? undefined : `ends on a noun after the particle ${particle[1]}, with no predicate`;
  }
  if (lang === "hi") {
    const last = /(\p{L}[\p{L}\p{M}]*)$/u.exec(end)?.[1];
    if (last === undefined) return undefined;
    if (HI_POSTPOSITIONS.includes(last)) return `ends on the postposition "${last}"`;
    // An oblique infinitive ("बताने", "of telling") needs the postposition or noun after it.
    if ([...last].length >= 3 && last.endsWith("ने")) return `ends on the oblique infinitive "${last}"`;
    // An oblique plural ("फ़ाइलों", cut from "फ़ाइलों के लिए", "for files"): the form a postposition
    // governs, so one should follow. Of 7,800 Hindi messages of Debian 12's gettext catalogs one good
    // translation ends on one, against 28 of 4,300 of them cut anywhere.
    if (last.endsWith("ों") && !HI_NOT_OBLIQUE.includes(last)) return `ends on the oblique plural "${last}"`;
  }
  return undefined;
}

/**
 * The mark a source ends on: a sentence terminal of any script (. ! ? 。 । ؟ ۔ ። ။ ។ ։ and the
 * like, closing quotes or brackets after it allowed) or a colon introducing what follows. Not an ellipsis
 * ("Loading...", "Open…"): a UI item with more to come, which translations often drop.
 */
const SOURCE_FINAL_MARK = /(?<![.…])(?:\p{Sentence_Terminal}["'”’»」』)）\]]*|[:：])$/u;
/** Any final mark of a target: the same, the ellipsis and the semicolon included. */
const TARGET_FINAL_MARK = /(?:\p{Sentence_Terminal}|[…:;：；])["'”’»」』)）\]]*$/u;

/**
 * The source ends a sentence (or on a colon) and the target ends with no punctuation at all: a text
 * cut anywhere loses the final mark, whatever its language and last word, mid-word in a script
 * without spaces too ("…のソフトウェ", cut from "…のソフトウェアはインストールされません。").
 * Good translations drop the mark now and then, some languages (Thai) and some catalogs
 * (GStreamer's Japanese) always: the rule weighs it by how often the file's own translations do
 * (finalMarkLoss) and wants a larger shortfall than for weakUnfinishedEnding (truncation.k_final_mark).
 */
export function lostFinalMark(source: string, target: string): string | undefined {
  const mark = SOURCE_FINAL_MARK.exec(source.trimEnd());
  if (mark === null || TARGET_FINAL_MARK.test(target.trimEnd())) return undefined;
  return `ends with no punctuation where its source ends on "${mark[0]}"`;
}

/**
 * The share of a file's pairs (one language pair) whose source ends on a final mark and whose
 * target has none; undefined when no source ends on one. Learned from the file like the length
 * bounds: where its translations drop the mark as often as they keep it, a missing one says nothing.
 */
export function finalMarkLoss(pairs: Iterable<{ source: string; target: string }>): number | undefined {
  let ending = 0;
  let lost = 0;
  for (const { source, target } of pairs) {
    if (target.trim() === "" || !SOURCE_FINAL_MARK.test(source.trimEnd())) continue;
    ending += 1;
    if (!TARGET_FINAL_MARK.test(target.trimEnd())) lost += 1;
  }
  return ending === 0 ? undefined : lost / ending;
}
