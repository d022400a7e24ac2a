/**
 * Writing systems of text: which script its letters are in, which scripts a language is written
 * in, and how much text a letter is worth for language identification. Letters of scripts without
 * letter case (Devanagari, CJK, Thai, Arabic …) cannot be told apart from names by their case, so
 * the checks that read case need these to treat such text fairly.
 */

const SCRIPTS = [
  "Latin",
  "Cyrillic",
  "Greek",
  "Devanagari",
  "Bengali",
  "Gurmukhi",
  "Gujarati",
  "Tamil",
  "Telugu",
  "Kannada",
  "Malayalam",
  "Thai",
  "Arabic",
  "Hebrew",
  "Han",
  "Hiragana",
  "Katakana",
  "Hangul",
  "Georgian",
  "Armenian",
  "Ethiopic",
] as const;
export type Script = (typeof SCRIPTS)[number] | "Other";

const PATTERNS = SCRIPTS.map((script) => ({ script, pattern: new RegExp(`^\\p{Script=${script}}$`, "u") }));

/** Scripts each language is written in (ISO 639-1 codes; anything not listed is taken as Latin). */
const LANGUAGE_SCRIPTS: Record<string, readonly Script[]> = {
  hi: ["Devanagari"],
  mr: ["Devanagari"],
  ne: ["Devanagari"],
  sa: ["Devanagari"],
  bn: ["Bengali"],
  pa: ["Gurmukhi"],
  gu: ["Gujarati"],
  ta: ["Tamil"],
  te: ["Telugu"],
  kn: ["Kannada"],
  ml: ["Malayalam"],
  th: ["Thai"],
  ar: ["Arabic"],
  fa: ["Arabic"],
  ur: ["Arabic"],
  he: ["Hebrew"],
  ja: ["Han", "Hiragana", "Katakana"],
  zh: ["Han"],
  ko: ["Hangul", "Han"],
  ru: ["Cyrillic"],
  uk: ["Cyrillic"],
  bg: ["Cyrillic"],
  sr: ["Cyrillic", "Latin"],
  mk: ["Cyrillic"],
  be: ["Cyrillic"],
  kk: ["Cyrillic"],
  el: ["Greek"],
  ka: ["Georgian"],
  hy: ["Armenian"],
  am: ["Ethiopic"],
};

/**
 * Scripts that must show up in a language's text of some length: Japanese always has kana (Han
 * alone is Chinese), Korean has Hangul.
 */
const REQUIRED_SCRIPTS: Record<string, readonly Script[]> = {
  ja: ["Hiragana", "Katakana"],
  ko: ["Hangul"],
};

export function requiredScriptsOf(lang: string): readonly Script[] {
  return REQUIRED_SCRIPTS[lang.toLowerCase().split(/[-_]/)[0]!] ?? [];
}

export function scriptsOf(lang: string): readonly Script[] {
  return LANGUAGE_SCRIPTS[lang.toLowerCase().split(/[-_]/)[0]!] ?? ["Latin"];
}

export function scriptOfLetter(letter: string): Script {
  for (const { script, pattern } of PATTERNS) if (pattern.test(letter)) return script;
  return "Other";
}

/**
 * Letters per script of the scripts listed above. Vowel signs count (Devanagari writes most vowels
 * as marks: "स्थिति" is 3 letters and 3 marks); marks shared by all scripts and digits do not.
 */
export function scriptCounts(text: string): Map<Script, number> {
  const counts = new Map<Script, number>();
  for (const letter of text.match(/[\p{L}\p{M}]/gu) ?? []) {
    const script = scriptOfLetter(letter);
    if (script === "Other") continue;
    counts.set(script, (counts.get(script) ?? 0) + 1);
  }
  return counts;
}

/**
 * Letters weighted by how much language they carry: a Han, kana or Hangul character is about a
 * syllable or a word, worth three Latin letters (so "60 letters" means about as much text in
 * Japanese as in Finnish).
 */
export function letterWeight(text: string): number {
  let weight = 0;
  for (const [script, count] of scriptCounts(text)) weight += count * scriptWeight(script);
  return weight;
}

export function scriptWeight(script: Script): number {
  return DENSE.has(script) ? 3 : 1;
}

const DENSE = new Set<Script>(["Han", "Hiragana", "Katakana", "Hangul"]);

/** Whether the script has upper and lower case (names stand out by their capital). */
export function isCased(script: Script): boolean {
  return script === "Latin" || script === "Cyrillic" || script === "Greek" || script === "Armenian";
}
