// A port of nltk 3.9.1 `NLTKWordTokenizer.tokenize(text)` (nltk/tokenize/destructive.py, with
// convert_parentheses=False) and of `word_tokenize(text)` (Punkt sentences, then the word
// tokenizer on each, preserve_line=False).
//
// Each Python `re.sub(pattern, repl)` becomes a global JS `u`-flag RegExp and a replacement
// function (never a replacement string, whose `$` forms differ from Python's `\1`/`\g<0>`).
// Python classes are translated with the fragments of src/text/python.ts; `(?i)` patterns are
// spelled out with Python's case equivalences (`pyCaselessLiteral`) instead of the JS `i` flag.
import {
  PY_D,
  PY_END,
  PY_S,
  PY_W,
  PY_WORD_BOUNDARY,
  pyCaselessLiteral,
  pySplit,
} from "../../text/python.ts";
import { sentTokenize } from "./punkt.ts";

interface Substitution {
  readonly pattern: RegExp;
  readonly replace: (match: string, ...groups: string[]) => string;
}

function sub(source: string, replace: Substitution["replace"]): Substitution {
  return { pattern: new RegExp(source, "gu"), replace };
}

/** `\g<0>` surrounded by spaces: `r" \g<0> "`. */
const padded = (match: string): string => ` ${match} `;

/** `STARTING_QUOTES`. */
const STARTING_QUOTES: readonly Substitution[] = [
  // ([«“‘„]|[`]+) → " \1 "
  sub("([«“‘„]|`+)", (_m, q) => ` ${q} `),
  // ^\" → `` (no MULTILINE: the very start only)
  sub('^"', () => "``"),
  // (``) → " \1 "
  sub("(``)", (_m, q) => ` ${q} `),
  // ([ \(\[{<])(\"|\'{2}) → "\1 `` "
  sub("([ (\\[{<])(\"|'{2})", (_m, open) => `${open} \`\` `),
  // (?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b → "\1 \2"
  sub(
    `(')(?!${["re", "ve", "ll", "m", "t", "s", "d", "n"].map(pyCaselessLiteral).join("|")})(${PY_W})${PY_WORD_BOUNDARY}`,
    (_m, quote, letter) => `${quote} ${letter}`,
  ),
];

/** The closing characters the final-period rules keep with the period. */
const FINAL_CLOSERS = `\\])}>"'`;

/** `PUNCTUATION`. */
const PUNCTUATION: readonly Substitution[] = [
  // ([^\.])(\.)([\]\)}>"\'»”’ ]*)\s*$ → "\1 \2 \3 "
  sub(`([^.])(\\.)([${FINAL_CLOSERS}»”’ ]*)${PY_S}*${PY_END}`, (_m, before, period, closers) => `${before} ${period} ${closers} `),
  // ([:,])([^\d]) → " \1 \2"
  sub(`([:,])([^${PY_D}])`, (_m, mark, next) => ` ${mark} ${next}`),
  // ([:,])$ → " \1 "
  sub(`([:,])${PY_END}`, (_m, mark) => ` ${mark} `),
  // \.{2,} → " \g<0> "
  sub("\\.{2,}", padded),
  // [;@#$%&] → " \g<0> "
  sub("[;@#$%&]", padded),
  // ([^\.])(\.)([\]\)}>"\']*)\s*$ → "\1 \2\3 "  (the final period)
  sub(`([^.])(\\.)([${FINAL_CLOSERS}]*)${PY_S}*${PY_END}`, (_m, before, period, closers) => `${before} ${period}${closers} `),
  // [?!] → " \g<0> "
  sub("[?!]", padded),
  // ([^'])' → "\1 ' "
  sub("([^'])' ", (_m, before) => `${before} ' `),
  // [*] → " \g<0> "
  sub("[*]", padded),
];

/** `PARENS_BRACKETS`: [\]\[\(\)\{\}\<\>] → " \g<0> ". */
const PARENS_BRACKETS = sub("[\\][(){}<>]", padded);

/** `DOUBLE_DASHES`: -- → " -- ". */
const DOUBLE_DASHES = sub("--", () => " -- ");

/** `ENDING_QUOTES`. */
const ENDING_QUOTES: readonly Substitution[] = [
  // ([»”’]) → " \1 "
  sub("([»”’])", (_m, q) => ` ${q} `),
  // '' → " '' "
  sub("''", () => " '' "),
  // " → " '' "
  sub('"', () => " '' "),
  // \s+ → " "
  sub(`${PY_S}+`, () => " "),
  // ([^' ])('[sS]|'[mM]|'[dD]|') → "\1 \2 "
  sub("([^' ])('[sS]|'[mM]|'[dD]|') ", (_m, before, clitic) => `${before} ${clitic} `),
  // ([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) → "\1 \2 "
  sub("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", (_m, before, clitic) => `${before} ${clitic} `),
];

const splitPair = (_m: string, first: string, second: string): string => ` ${first} ${second} `;
const B = PY_WORD_BOUNDARY;
const ci = pyCaselessLiteral;

/** `MacIntyreContractions.CONTRACTIONS2`, each `(?i)`, replaced by " \1 \2 ". */
const CONTRACTIONS2: readonly Substitution[] = [
  sub(`${B}(${ci("can")})(${ci("not")})${B}`, splitPair),
  sub(`${B}(${ci("d")})(${ci("'ye")})${B}`, splitPair),
  sub(`${B}(${ci("gim")})(${ci("me")})${B}`, splitPair),
  sub(`${B}(${ci("gon")})(${ci("na")})${B}`, splitPair),
  sub(`${B}(${ci("got")})(${ci("ta")})${B}`, splitPair),
  sub(`${B}(${ci("lem")})(${ci("me")})${B}`, splitPair),
  sub(`${B}(${ci("more")})(${ci("'n")})${B}`, splitPair),
  sub(`${B}(${ci("wan")})(${ci("na")})(?=${PY_S})`, splitPair),
];

/** `MacIntyreContractions.CONTRACTIONS3`, each `(?i)`, replaced by " \1 \2 ". */
const CONTRACTIONS3: readonly Substitution[] = [
  sub(` (${ci("'t")})(${ci("is")})${B}`, splitPair),
  sub(` (${ci("'t")})(${ci("was")})${B}`, splitPair),
];

function apply(text: string, { pattern, replace }: Substitution): string {
  return text.replace(pattern, replace as (match: string, ...rest: unknown[]) => string);
}

/** nltk `NLTKWordTokenizer().tokenize(text)`: Treebank-style tokens of one sentence. */
export function treebankWordTokenize(text: string): string[] {
  for (const s of STARTING_QUOTES) text = apply(text, s);
  for (const s of PUNCTUATION) text = apply(text, s);
  text = apply(text, PARENS_BRACKETS);
  text = apply(text, DOUBLE_DASHES);
  text = ` ${text} `;
  for (const s of ENDING_QUOTES) text = apply(text, s);
  for (const s of CONTRACTIONS2) text = apply(text, s);
  for (const s of CONTRACTIONS3) text = apply(text, s);
  return pySplit(text);
}

/** nltk `word_tokenize(text, language)`: Punkt sentences, then Treebank tokens of each. */
export function wordTokenize(text: string, language = "english"): string[] {
  return sentTokenize(text, language).flatMap(treebankWordTokenize);
}
