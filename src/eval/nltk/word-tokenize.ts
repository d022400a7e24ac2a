// A port of nltk 3.9.1 `NLTKWordTokenizer.tokenize(text)` (nltk/tokenize/destructive.py, with
// convert_parentheses=False) and of `word_tokenize(text)` (Punkt sentences, then the word
// tokenizer on each, preserve_line=False).
//
// Each Python `re.sub(pattern, repl)` becomes a global JS `u`-flag RegExp and a JS replacement
// string, in the same order.
// Python classes are translated with the fragments of src/text/python-str.ts; `(?i)` patterns are
// spelled out with Python's case equivalences (`pyCaselessLiteral`) instead of the JS `i` flag.
import { PY_D, PY_END, PY_S, PY_W, pyCaselessLiteral, pySplit } from "../../text/python-str.ts";
import { sentTokenize } from "./punkt.ts";

/**
 * One `re.sub(pattern, repl)`: the pattern as a global `u`-flag RegExp and the replacement as a
 * JS replacement string. Python `\1` becomes `$1` and `\g<0>` becomes `$&`; no replacement
 * below contains a literal `$`, so no other `$` form can sneak in. (Strings, not callbacks: V8
 * substitutes them several times faster.) Every group in these patterns always takes part in
 * a match, so Python's "unmatched group → empty string" rule never comes into play.
 */
interface Substitution {
  readonly pattern: RegExp;
  readonly replacement: string;
  /**
   * A cheap necessary condition: when it is false the pattern cannot match, so the text is left
   * as it is without running the regex (a `replace` costs about as much as the rest of the
   * tokenizer, and most patterns match nothing in most sentences). It never changes a result.
   */
  readonly mayMatch: (text: string) => boolean;
}

function sub(source: string, replacement: string, mayMatch: (text: string) => boolean): Substitution {
  return { pattern: new RegExp(source, "gu"), replacement, mayMatch };
}

/** Does `text` contain any of these characters? */
const containsAnyOf =
  (chars: string) =>
  (text: string): boolean => {
    for (const ch of chars) if (text.includes(ch)) return true;
    return false;
  };
const contains = (needle: string) => (text: string) => text.includes(needle);
const always = (): boolean => true;

/**
 * Python `\b` just before a word character ≡ "the previous character is not a word character";
 * just after one ≡ "the next character is not a word character". Every `\b` in these patterns
 * touches a literal letter or a `\w`, so each is written as the single look-around it reduces
 * to (same matches, far cheaper than the general two-sided `PY_WORD_BOUNDARY`).
 */
const BOUNDARY_BEFORE_WORD = `(?<!${PY_W})`;
const BOUNDARY_AFTER_WORD = `(?!${PY_W})`;

/** `STARTING_QUOTES`. */
const STARTING_QUOTES: readonly Substitution[] = [
  // ([«“‘„]|[`]+) → " \1 "
  sub("([«“‘„]|`+)", " $1 ", containsAnyOf("«“‘„`")),
  // ^\" → `` (no MULTILINE: the very start only)
  sub('^"', "``", (t) => t.startsWith('"')),
  // (``) → " \1 "
  sub("(``)", " $1 ", contains("``")),
  // ([ \(\[{<])(\"|\'{2}) → "\1 `` "
  sub("([ (\\[{<])(\"|'{2})", "$1 `` ", (t) => t.includes('"') || t.includes("''")),
  // (?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b → "\1 \2"
  sub(
    `(')(?!${["re", "ve", "ll", "m", "t", "s", "d", "n"].map(pyCaselessLiteral).join("|")})(${PY_W})${BOUNDARY_AFTER_WORD}`,
    "$1 $2",
    contains("'"),
  ),
];

/** The closing characters the final-period rules keep with the period. */
const FINAL_CLOSERS = `\\])}>"'`;

/**
 * The two final-period rules `([^\.])(\.)([closers]*)\s*$`. Python consumes the character
 * before the period; here it is a look-behind and stays in place, so the replacement leaves out
 * `\1`. The leftmost match is at the same period (V8 can then scan for `.` quickly), and as
 * `\s*` is greedy the match runs to the end of the text either way, so there is one match at most.
 */
const finalPeriod = (closers: string): string => `\\.(?<=[^.]\\.)([${closers}]*)${PY_S}*${PY_END}`;

/** `PUNCTUATION`. */
const PUNCTUATION: readonly Substitution[] = [
  // ([^\.])(\.)([\]\)}>"\'»”’ ]*)\s*$ → "\1 \2 \3 "
  sub(finalPeriod(`${FINAL_CLOSERS}»”’ `), " . $1 ", contains(".")),
  // ([:,])([^\d]) → " \1 \2"
  sub(`([:,])([^${PY_D}])`, " $1 $2", containsAnyOf(":,")),
  // ([:,])$ → " \1 "
  sub(`([:,])${PY_END}`, " $1 ", containsAnyOf(":,")),
  // \.{2,} → " \g<0> "
  sub("\\.{2,}", " $& ", contains("..")),
  // [;@#$%&] → " \g<0> "
  sub("[;@#$%&]", " $& ", containsAnyOf(";@#$%&")),
  // ([^\.])(\.)([\]\)}>"\']*)\s*$ → "\1 \2\3 "  (the final period)
  sub(finalPeriod(FINAL_CLOSERS), " .$1 ", contains(".")),
  // [?!] → " \g<0> "
  sub("[?!]", " $& ", containsAnyOf("?!")),
  // ([^'])' → "\1 ' "
  sub("([^'])' ", "$1 ' ", contains("' ")),
  // [*] → " \g<0> "
  sub("[*]", " $& ", contains("*")),
];

/** `PARENS_BRACKETS`: [\]\[\(\)\{\}\<\>] → " \g<0> ". */
const PARENS_BRACKETS = sub("[\\][(){}<>]", " $& ", containsAnyOf("[](){}<>"));

/** `DOUBLE_DASHES`: -- → " -- ". */
const DOUBLE_DASHES = sub("--", " -- ", contains("--"));

/**
 * Guard of `\s+ → " "`: the substitution changes the text only where there is a whitespace
 * character other than a space, or two spaces in a row.
 */
const NOT_JUST_SINGLE_SPACES = new RegExp(`(?! )${PY_S}|  `, "u");

/** `ENDING_QUOTES`. */
const ENDING_QUOTES: readonly Substitution[] = [
  // ([»”’]) → " \1 "
  sub("([»”’])", " $1 ", containsAnyOf("»”’")),
  // '' → " '' "
  sub("''", " '' ", contains("''")),
  // " → " '' "
  sub('"', " '' ", contains('"')),
  // \s+ → " "
  sub(`${PY_S}+`, " ", (t) => NOT_JUST_SINGLE_SPACES.test(t)),
  // ([^' ])('[sS]|'[mM]|'[dD]|') → "\1 \2 "
  sub("([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 ", contains("'")),
  // ([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) → "\1 \2 "
  sub("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 ", contains("'")),
];

const ci = pyCaselessLiteral;

/**
 * One guard for all of CONTRACTIONS2 (checked once in `treebankWordTokenize`): the bare words
 * without their boundaries. If none occurs, none of the eight patterns can match; their own
 * substitutions only add spaces, so they cannot create a new occurrence either.
 */
const CONTRACTION2_WORDS = ["cannot", "d'ye", "gimme", "gonna", "gotta", "lemme", "more'n", "wanna"];
const ANY_CONTRACTION2_SOURCE = CONTRACTION2_WORDS.map(ci).join("|");
const ANY_CONTRACTION2 = new RegExp(ANY_CONTRACTION2_SOURCE, "u");

/** `MacIntyreContractions.CONTRACTIONS2`, each `(?i)\b(x)(y)\b`, replaced by " \1 \2 ". */
const CONTRACTIONS2: readonly Substitution[] = [
  ["can", "not"],
  ["d", "'ye"],
  ["gim", "me"],
  ["gon", "na"],
  ["got", "ta"],
  ["lem", "me"],
  ["more", "'n"],
].map(([first, second]) =>
  sub(
    `${BOUNDARY_BEFORE_WORD}(${ci(first as string)})(${ci(second as string)})${BOUNDARY_AFTER_WORD}`,
    " $1 $2 ",
    always,
  ),
);

/** `CONTRACTIONS2`, last entry: (?i)\b(wan)(na)(?=\s). */
const WANNA = sub(`${BOUNDARY_BEFORE_WORD}(${ci("wan")})(${ci("na")})(?=${PY_S})`, " $1 $2 ", always);

/** `MacIntyreContractions.CONTRACTIONS3`: (?i) ('t)(is)\b and (?i) ('t)(was)\b → " \1 \2 ". */
const CONTRACTIONS3: readonly Substitution[] = [
  sub(` (${ci("'t")})(${ci("is")})${BOUNDARY_AFTER_WORD}`, " $1 $2 ", contains("'")),
  sub(` (${ci("'t")})(${ci("was")})${BOUNDARY_AFTER_WORD}`, " $1 $2 ", contains("'")),
];

function apply(text: string, { pattern, replacement, mayMatch }: Substitution): string {
  return mayMatch(text) ? text.replace(pattern, replacement) : text;
}

/** nltk `NLTKWordTokenizer().tokenize(text)`: Treebank-style tokens of one sentence. */
export function treebankWordTokenize(text: string): string[] {
  for (const s of STARTING_QUOTES) text = apply(text, s);
  for (const s of PUNCTUATION) text = apply(text, s);
  text = apply(text, PARENS_BRACKETS);
  text = apply(text, DOUBLE_DASHES);
  text = ` ${text} `;
  for (const s of ENDING_QUOTES) text = apply(text, s);
  if (ANY_CONTRACTION2.test(text)) {
    for (const s of CONTRACTIONS2) text = apply(text, s);
    text = apply(text, WANNA);
  }
  for (const s of CONTRACTIONS3) text = apply(text, s);
  return pySplit(text);
}

/** nltk `word_tokenize(text, language)`: Punkt sentences, then Treebank tokens of each. */
export function wordTokenize(text: string, language = "english"): string[] {
  return sentTokenize(text, language).flatMap(treebankWordTokenize);
}
