// A port of nltk 3.9.1 `PunktSentenceTokenizer.tokenize(text)` (realign_boundaries=True),
// with `PunktToken` and the first-pass and second-pass annotation it uses.
//
// Index arithmetic: Python slices count code points, JS strings UTF-16 units. Every index
// here comes from the same string and only feeds slices of that string, and the characters
// the code inspects one by one (ASCII whitespace, `.`) are single units, so the substrings are
// the same; `len(...)` is never compared across strings.
import { fileURLToPath } from "node:url";
import { KieloError } from "../../util/errors.ts";
import { isLower, isUpper, pyRstrip, pyStrip, PY_END } from "../../text/python-str.ts";
import { isCollocation, loadPunktParameters, orthoContextOf, type PunktParameters } from "./punkt-parameters.ts";
import { BOUNDARY_REALIGNMENT, PERIOD_CONTEXT, punktWordTokenize, SENT_END_CHARS } from "./punkt-language-vars.ts";

// Orthographic context flags (`_ORTHO_*`).
const ORTHO_BEG_UC = 1 << 1;
const ORTHO_MID_UC = 1 << 2;
const ORTHO_UNK_UC = 1 << 3;
const ORTHO_BEG_LC = 1 << 4;
const ORTHO_MID_LC = 1 << 5;
const ORTHO_UNK_LC = 1 << 6;
const ORTHO_UC = ORTHO_BEG_UC + ORTHO_MID_UC + ORTHO_UNK_UC;
const ORTHO_LC = ORTHO_BEG_LC + ORTHO_MID_LC + ORTHO_UNK_LC;

/** `PunktToken._RE_ELLIPSIS` (used with `.match`). */
const RE_ELLIPSIS = new RegExp(`^\\.\\.+${PY_END}`, "u");
/** `PunktToken._RE_NUMERIC`, substituted by `##number##` in the type. */
const RE_NUMERIC = new RegExp(`^-?[.,]?\\p{Nd}[\\p{Nd},.\\-]*\\.?${PY_END}`, "u");
/** `PunktToken._RE_INITIAL`: `[^\W\d]\.$` — `[^\W\d]` is `\w` minus `\d`: L, Nl, No or `_`. */
const RE_INITIAL = new RegExp(`^[\\p{L}\\p{Nl}\\p{No}_]\\.${PY_END}`, "u");

/** `PunktSentenceTokenizer.PUNCTUATION`. */
const PUNCTUATION = new Set([";", ":", ",", ".", "!", "?"]);

/** `string.whitespace`, used by `_get_last_whitespace_index` (ASCII only, unlike `\s`). */
const ASCII_WHITESPACE = new Set([" ", "\t", "\n", "\r", "\v", "\f"]);

type OrthoDecision = true | false | "unknown";

/** `PunktToken`: a word token with its first- and second-pass annotations. */
class PunktToken {
  readonly tok: string;
  readonly type: string;
  readonly periodFinal: boolean;
  sentbreak = false;
  abbr = false;
  ellipsis = false;

  constructor(tok: string) {
    this.tok = tok;
    this.type = tok.toLowerCase().replace(RE_NUMERIC, "##number##");
    this.periodFinal = tok.endsWith(".");
  }

  /** The type without its final period (only when longer than one character). */
  get typeNoPeriod(): string {
    // Python `len(self.type) > 1`: a lone astral character has length 2 here but does not
    // end in ".", so the test agrees.
    return this.type.length > 1 && this.type.endsWith(".") ? this.type.slice(0, -1) : this.type;
  }

  /** The type without the final period when that period is a sentence break. */
  get typeNoSentperiod(): string {
    return this.sentbreak ? this.typeNoPeriod : this.type;
  }

  /** `tok[0].isupper()` on the first code point. */
  get firstUpper(): boolean {
    return isUpper(String.fromCodePoint(this.tok.codePointAt(0) as number));
  }

  get firstLower(): boolean {
    return isLower(String.fromCodePoint(this.tok.codePointAt(0) as number));
  }

  get isEllipsis(): boolean {
    return RE_ELLIPSIS.test(this.tok);
  }

  get isInitial(): boolean {
    return RE_INITIAL.test(this.tok);
  }
}

/** `_tokenize_words`: Punkt word tokens of each non-blank line. */
function tokenizeWords(plaintext: string): PunktToken[] {
  // The parastart/linestart flags only matter to the trainer; the tokenizer never reads them.
  const tokens: PunktToken[] = [];
  for (const line of plaintext.split("\n")) {
    if (pyStrip(line) === "") continue;
    for (const tok of punktWordTokenize(line)) tokens.push(new PunktToken(tok));
  }
  return tokens;
}

/** `_get_last_whitespace_index`: 0 also when the only whitespace is at index 0 (sic). */
function lastWhitespaceIndex(text: string): number {
  for (let i = text.length - 1; i >= 0; i--) {
    if (ASCII_WHITESPACE.has(text[i] as string)) return i;
  }
  return 0;
}

interface Slice {
  start: number;
  stop: number;
}

interface EndContext {
  /** `match.end()`: the index after the sentence-end character. */
  end: number;
  /** `match.start("next_tok")`, or undefined when the group did not take part. */
  nextTokStart: number | undefined;
  /** The previous word, the sentence-end character and what follows it. */
  context: string;
}

/** A Punkt sentence tokenizer over one set of parameters (`PunktSentenceTokenizer`). */
export class PunktSentenceTokenizer {
  readonly params: PunktParameters;

  constructor(params: PunktParameters) {
    this.params = params;
  }

  /** Loads a `punkt_tab/<language>/` folder (`PunktTokenizer(lang)`). */
  static fromFolder(folder: string): PunktSentenceTokenizer {
    return new PunktSentenceTokenizer(loadPunktParameters(folder));
  }

  /** `tokenize(text)`: the sentences of `text`, closing punctuation realigned. */
  tokenize(text: string): string[] {
    return this.spanTokenize(text).map(({ start, stop }) => text.slice(start, stop));
  }

  /** `span_tokenize(text)` with realign_boundaries=True, as UTF-16 offsets. */
  spanTokenize(text: string): Slice[] {
    return this.realignBoundaries(text, this.slicesFromText(text));
  }

  /** `_first_pass_annotation`. */
  private firstPass(token: PunktToken): void {
    const tok = token.tok;
    if (SENT_END_CHARS.includes(tok)) {
      token.sentbreak = true;
    } else if (token.isEllipsis) {
      token.ellipsis = true;
    } else if (token.periodFinal && !tok.endsWith("..")) {
      const stem = tok.slice(0, -1).toLowerCase();
      const lastPart = stem.split("-").at(-1) as string;
      if (this.params.abbrevTypes.has(stem) || this.params.abbrevTypes.has(lastPart)) {
        token.abbr = true;
      } else {
        token.sentbreak = true;
      }
    }
  }

  /** `_second_pass_annotation`: collocation, orthographic and sentence-starter heuristics. */
  private secondPass(token1: PunktToken, token2: PunktToken): void {
    if (!token1.periodFinal) return;
    const typ = token1.typeNoPeriod;
    const nextTyp = token2.typeNoSentperiod;
    const tokIsInitial = token1.isInitial;

    if (isCollocation(this.params, typ, nextTyp)) {
      token1.sentbreak = false;
      token1.abbr = true;
      return;
    }

    if ((token1.abbr || token1.ellipsis) && !tokIsInitial) {
      const isSentStarter = this.orthoHeuristic(token2);
      if (isSentStarter === true) {
        token1.sentbreak = true;
        return;
      }
      if (token2.firstUpper && this.params.sentStarters.has(nextTyp)) {
        token1.sentbreak = true;
        return;
      }
    }

    if (tokIsInitial || typ === "##number##") {
      const isSentStarter = this.orthoHeuristic(token2);
      if (isSentStarter === false) {
        token1.sentbreak = false;
        token1.abbr = true;
        return;
      }
      if (
        isSentStarter === "unknown" &&
        tokIsInitial &&
        token2.firstUpper &&
        !(orthoContextOf(this.params, nextTyp) & ORTHO_LC)
      ) {
        token1.sentbreak = false;
        token1.abbr = true;
      }
    }
  }

  /** `_ortho_heuristic`: does this token start a sentence (true/false/"unknown")? */
  private orthoHeuristic(token: PunktToken): OrthoDecision {
    if (PUNCTUATION.has(token.tok)) return false;
    const ortho = orthoContextOf(this.params, token.typeNoSentperiod);
    if (token.firstUpper && ortho & ORTHO_LC && !(ortho & ORTHO_MID_UC)) return true;
    if (token.firstLower && (ortho & ORTHO_UC || !(ortho & ORTHO_BEG_LC))) return false;
    return "unknown";
  }

  /** `text_contains_sentbreak`: is any token but the last a sentence break after both passes? */
  private textContainsSentbreak(text: string): boolean {
    const tokens = tokenizeWords(text);
    for (const token of tokens) this.firstPass(token);
    for (let i = 0; i + 1 < tokens.length; i++) {
      const token = tokens[i] as PunktToken;
      this.secondPass(token, tokens[i + 1] as PunktToken);
      if (token.sentbreak) return true;
    }
    return false;
  }

  /** `_match_potential_end_contexts`: each candidate end with the word before it, overlaps removed. */
  private potentialEndContexts(text: string): EndContext[] {
    const out: EndContext[] = [];
    let previousSlice: Slice = { start: 0, stop: 0 };
    let previousMatch: RegExpExecArray | undefined;
    const emit = (match: RegExpExecArray, slice: Slice): void => {
      const afterTok = match.groups?.after_tok ?? "";
      const nextTok = match.groups?.next_tok;
      const end = match.index + match[0].length;
      out.push({
        end,
        // after_tok is whitespace followed by next_tok, so next_tok starts where it ends minus its length.
        nextTokStart: nextTok === undefined ? undefined : end + afterTok.length - nextTok.length,
        context: text.slice(slice.start, slice.stop) + match[0] + afterTok,
      });
    };
    for (const match of text.matchAll(PERIOD_CONTEXT)) {
      const beforeText = text.slice(previousSlice.stop, match.index);
      let indexAfterLastSpace = lastWhitespaceIndex(beforeText);
      if (indexAfterLastSpace !== 0) indexAfterLastSpace += previousSlice.stop + 1;
      else indexAfterLastSpace = previousSlice.start;
      const prevWordSlice: Slice = { start: indexAfterLastSpace, stop: match.index };
      if (previousMatch !== undefined && previousSlice.stop <= prevWordSlice.start) {
        emit(previousMatch, previousSlice);
      }
      previousMatch = match;
      previousSlice = prevWordSlice;
    }
    if (previousMatch !== undefined) emit(previousMatch, previousSlice);
    return out;
  }

  /** `_slices_from_text`. */
  private slicesFromText(text: string): Slice[] {
    const slices: Slice[] = [];
    let lastBreak = 0;
    for (const { end, nextTokStart, context } of this.potentialEndContexts(text)) {
      if (this.textContainsSentbreak(context)) {
        slices.push({ start: lastBreak, stop: end });
        lastBreak = nextTokStart ?? end;
      }
    }
    slices.push({ start: lastBreak, stop: pyRstrip(text).length });
    return slices;
  }

  /** `_realign_boundaries`: move closing quotes/brackets after a break into the sentence before. */
  private realignBoundaries(text: string, slices: Slice[]): Slice[] {
    const out: Slice[] = [];
    let realign = 0;
    for (let i = 0; i < slices.length; i++) {
      const current = slices[i] as Slice;
      const sentence1: Slice = { start: current.start + realign, stop: current.stop };
      const sentence2 = slices[i + 1];
      // Python slicing: start > stop gives "", as JS `slice` does.
      const nonEmpty = text.slice(sentence1.start, sentence1.stop) !== "";
      if (sentence2 === undefined) {
        if (nonEmpty) out.push(sentence1);
        continue;
      }
      const m = BOUNDARY_REALIGNMENT.exec(text.slice(sentence2.start, sentence2.stop));
      if (m !== null) {
        out.push({ start: sentence1.start, stop: sentence2.start + pyRstrip(m[0]).length });
        realign = m[0].length;
      } else {
        realign = 0;
        if (nonEmpty) out.push(sentence1);
      }
    }
    return out;
  }
}

/** `nltk_data` shipped with kielo: `tokenizers/punkt_tab/<language>/`. */
export function punktFolder(language: string): string {
  if (!/^[a-z_]+$/.test(language)) {
    throw new KieloError(`unknown Punkt language ${JSON.stringify(language)}`, {
      hint: "expected a lowercase NLTK model name such as english or finnish",
    });
  }
  return fileURLToPath(new URL(`../../../resources/nltk_data/tokenizers/punkt_tab/${language}/`, import.meta.url));
}

const tokenizers = new Map<string, PunktSentenceTokenizer>();

/**
 * The Punkt tokenizer for a language shipped in resources/nltk_data (`english`, `finnish`),
 * loaded once and cached (`PunktTokenizer(language)`).
 */
export function punktTokenizer(language = "english"): PunktSentenceTokenizer {
  let tokenizer = tokenizers.get(language);
  if (tokenizer === undefined) {
    tokenizer = PunktSentenceTokenizer.fromFolder(punktFolder(language));
    tokenizers.set(language, tokenizer);
  }
  return tokenizer;
}

/** nltk `sent_tokenize(text, language)`: Punkt sentences of `text`. */
export function sentTokenize(text: string, language = "english"): string[] {
  return punktTokenizer(language).tokenize(text);
}
