/**
 * How a text cut short ends, whatever its length: on a comma, inside brackets or quotes it opened,
 * or on a word that cannot end a sentence in its language — a conjunction, a preposition or
 * article, and in head-final languages (Japanese, Hindi) a case particle or postposition, since
 * there the predicate comes last. Real translations of a source that does not end that way have
 * none of these; a generation that hit its token limit, or a segment cut in two, often has one.
 */

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
  }
  return undefined;
}
