/**
 * A port of Pyphen 0.18.1's hyphenation-point search (`HyphDict.positions` and
 * `Pyphen.positions`, left = right = 2), which textstat uses to count syllables: a word has as
 * many syllables as hyphenation points + 1. No npm hyphenator reads LibreOffice's `hyph_*.dic`
 * files the way Pyphen does (the `hyphen` package ships TeX patterns, which hyphenate other
 * words), so the ~60 lines are ported. Lengths and indices are in code points, as in Python.
 */
import { KieloError } from "../../../util/errors.ts";
import { readGzip } from "./resources.ts";

/** Every dictionary Pyphen 0.18.1 has, in its (sorted) order: language fallback depends on it. */
const PYPHEN_DICTIONARIES = [
  "af_ZA", "as_IN", "be_BY", "bg_BG", "ca", "cs_CZ", "da_DK", "de_AT", "de_CH", "de_DE", "el_GR", "en_GB",
  "en_US", "eo", "es", "et_EE", "eu", "fr", "gl", "hr_HR", "hu_HU", "id_ID", "is", "it_IT", "kn_IN", "lt",
  "lv_LV", "mn_MN", "mr_IN", "nb_NO", "nl_NL", "nn_NO", "or_IN", "pa_IN", "pl_PL", "pt_BR", "pt_PT", "ro_RO",
  "ru_RU", "sa_IN", "sk_SK", "sl_SI", "sq_AL", "sr", "sr_Latn", "sv", "te_IN", "th_TH", "uk_UA", "zu_ZA",
];

/** The dictionaries kielo ships (resources/textstat/hyphenation/). */
export const SHIPPED_DICTIONARIES = ["en_GB", "en_US", "es", "fr", "it_IT", "pl_PL", "pt_BR", "pt_PT"];

/** Pyphen's LANGUAGES: every file name, plus each short name for the first file that has it. */
const LANGUAGES = new Map<string, string>();
for (const name of PYPHEN_DICTIONARIES) {
  LANGUAGES.set(name, name);
  const short = name.split("_")[0]!;
  if (!LANGUAGES.has(short)) LANGUAGES.set(short, name);
}
const LANGUAGES_LOWERCASE = new Map([...LANGUAGES.keys()].map((name) => [name.toLowerCase(), name]));

/** Pyphen's `language_fallback`: the dictionary a locale id resolves to, or undefined. */
export function pyphenDictionaryFor(lang: string): string | undefined {
  const parts = lang.replaceAll("-", "_").toLowerCase().split("_");
  while (parts.length > 0) {
    const name = LANGUAGES_LOWERCASE.get(parts.join("_"));
    if (name !== undefined) return LANGUAGES.get(name);
    parts.pop();
  }
  return undefined;
}

interface Pattern {
  start: number;
  values: number[];
}

class HyphDict {
  private readonly patterns = new Map<string, Pattern>();
  private readonly maxlen: number;
  private readonly cache = new Map<string, number[]>();

  constructor(text: string) {
    const ignored = ["%", "#", "LEFTHYPHENMIN", "RIGHTHYPHENMIN", "COMPOUNDLEFTHYPHENMIN", "COMPOUNDRIGHTHYPHENMIN"];
    for (const raw of text.replaceAll("\r\n", "\n").split("\n").slice(1)) {
      let pattern = raw.trim();
      if (pattern === "" || ignored.some((prefix) => pattern.startsWith(prefix))) continue;
      pattern = pattern.replace(/\^{2}([0-9a-f]{2})/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)));
      // Nonstandard alternatives (`pattern/change,index,cut`) only add data to odd points; the
      // points themselves come from the pattern before the slash.
      if (pattern.includes("/") && pattern.includes("=")) pattern = pattern.slice(0, pattern.indexOf("/"));
      const { tags, values } = parsePattern(pattern);
      if (Math.max(...values) === 0) continue;
      let start = 0;
      let end = values.length;
      while (!values[start]) start += 1;
      while (!values[end - 1]) end -= 1;
      this.patterns.set(tags, { start, values: values.slice(start, end) });
    }
    this.maxlen = Math.max(...[...this.patterns.keys()].map((key) => [...key].length));
  }

  positions(word: string): number[] {
    const lower = word.toLowerCase();
    const cached = this.cache.get(lower);
    if (cached !== undefined) return cached;
    const pointed = [".", ...lower, "."];
    const references = new Array<number>(pointed.length + 1).fill(0);
    for (let i = 0; i < pointed.length - 1; i++) {
      const stop = Math.min(i + this.maxlen, pointed.length) + 1;
      let key = "";
      for (let j = i + 1; j < stop; j++) {
        key += pointed[j - 1];
        const pattern = this.patterns.get(key);
        if (pattern === undefined) continue;
        for (let k = 0; k < pattern.values.length; k++) {
          const at = i + pattern.start + k;
          references[at] = Math.max(pattern.values[k]!, references[at]!);
        }
      }
    }
    const points: number[] = [];
    references.forEach((reference, i) => {
      if (reference % 2) points.push(i - 1);
    });
    this.cache.set(lower, points);
    return points;
  }
}

/** Python `re.findall(r'(\d?)(\D?)', pattern)`: digit/letter pairs, ending with one empty match. */
function parsePattern(pattern: string): { tags: string; values: number[] } {
  const chars = [...pattern];
  const isDigit = (c: string | undefined) => c !== undefined && /^\p{Nd}$/u.test(c);
  let tags = "";
  const values: number[] = [];
  let i = 0;
  for (;;) {
    let digit = "";
    if (isDigit(chars[i])) digit = chars[i++]!;
    let tag = "";
    if (i < chars.length && !isDigit(chars[i])) tag = chars[i++]!;
    tags += tag;
    values.push(digit === "" ? 0 : Number(digit));
    if (digit === "" && tag === "") break;
  }
  return { tags, values };
}

function decode(bytes: Buffer): string {
  const firstLine = bytes.subarray(0, Math.max(0, bytes.indexOf(0x0a))).toString("latin1").trim().toLowerCase();
  // WHATWG's TextDecoder reads "iso-8859-1" as windows-1252; Python reads true Latin-1.
  if (firstLine === "iso8859-1" || firstLine === "iso-8859-1") return bytes.toString("latin1");
  return new TextDecoder(firstLine === "microsoft-cp1251" ? "windows-1251" : firstLine).decode(bytes);
}

const dictionaries = new Map<string, HyphDict>();

/** Pyphen(lang=…): hyphenation positions with at least 2 characters on either side. */
export class Pyphen {
  private readonly dict: HyphDict;
  readonly dictionary: string;

  constructor(lang: string) {
    const name = pyphenDictionaryFor(lang);
    if (name === undefined || !SHIPPED_DICTIONARIES.includes(name)) {
      throw new KieloError(
        name === undefined
          ? `textstat cannot measure language ${JSON.stringify(lang)}: Pyphen 0.18.1 has no hyphenation dictionary for it`
          : `textstat language ${JSON.stringify(lang)} needs Pyphen's ${name} dictionary, which kielo does not ship`,
        { hint: `use one of ${SHIPPED_DICTIONARIES.join(", ")} (or en, es, fr, it, pl, pt), e.g. --readability-lang en_US` },
      );
    }
    this.dictionary = name;
    let dict = dictionaries.get(name);
    if (dict === undefined) {
      dict = new HyphDict(decode(readGzip(`hyphenation/hyph_${name}.dic.gz`)));
      dictionaries.set(name, dict);
    }
    this.dict = dict;
  }

  positions(word: string): number[] {
    const right = [...word].length - 2;
    return this.dict.positions(word).filter((i) => 2 <= i && i <= right);
  }
}
