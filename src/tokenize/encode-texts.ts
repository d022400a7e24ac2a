/**
 * Tokenising rendered documents: token ids and, where trained flags come from character spans, the
 * code-point offset where each token starts.
 *
 * Ordinary documents are encoded in batches (`encodeBatch` runs off the JS thread). A very long
 * document (a 50 MB row) is encoded window by window: `tokenizers` keeps about 350 bytes per token
 * of an encoding, so one 12M-token encoding needs gigabytes. The windows overlap, and where two
 * windows meet both must tokenise the shared stretch identically and no token may straddle the cut;
 * then the stitched ids equal those of one encoding of the whole text (every tokenizer in use splits
 * text into words before its model sees it, so a token depends only on text near it). If a check
 * fails, the whole text is encoded at once, as before — slower and larger, never different.
 */
import type { Encoding, Tokenizer } from "tokenizers";

export interface TokenizedText {
  ids: Uint32Array;
  /** Code-point offset of each token's first character, when asked for. */
  starts?: Uint32Array;
}

export interface LongTextOptions {
  /** Texts longer than this (UTF-16 units) are encoded in windows. */
  longText: number;
  /** Text per window, besides the context on each side. */
  piece: number;
  /** Text on each side of a window that is encoded but not kept (UTF-16 units, ≥ 4 × overlap). */
  context: number;
  /** Code points on each side of a cut that both windows must tokenise identically. */
  overlap: number;
}

export const LONG_TEXT: LongTextOptions = { longText: 1 << 21, piece: 1 << 20, context: 8192, overlap: 1024 };

function startsOf(encoding: Encoding): Uint32Array {
  const offsets = encoding.getOffsets();
  const starts = new Uint32Array(offsets.length);
  for (let i = 0; i < offsets.length; i++) starts[i] = offsets[i]![0]!;
  return starts;
}

/** Encode `texts` (no special tokens added: templates write their own). */
export async function encodeTexts(
  tokenizer: Tokenizer,
  texts: readonly string[],
  withStarts: readonly boolean[],
  long: LongTextOptions = LONG_TEXT,
): Promise<TokenizedText[]> {
  const out: TokenizedText[] = new Array(texts.length);
  const short: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    if (texts[i]!.length > long.longText) out[i] = await encodeLong(tokenizer, texts[i]!, withStarts[i] ?? false, long);
    else short.push(i);
  }
  if (short.length > 0) {
    const encodings = await tokenizer.encodeBatch(
      short.map((i) => texts[i]!),
      { addSpecialTokens: false },
    );
    short.forEach((i, j) => {
      const encoding = encodings[j]!;
      out[i] = { ids: Uint32Array.from(encoding.getIds()), ...(withStarts[i] ? { starts: startsOf(encoding) } : {}) };
    });
  }
  return out;
}

/** Where to cut near `from`: before a space that follows a letter or digit and precedes one. */
function cutNear(text: string, from: number): number {
  const limit = Math.min(text.length - 1, from + 65536);
  for (let i = from; i < limit; i++) {
    if (text.charCodeAt(i) === 32 && /[\p{L}\p{N}]/u.test(text[i - 1]!) && /[\p{L}\p{N}]/u.test(text[i + 1]!)) return i;
  }
  return -1;
}

/** Growing typed arrays for the stitched result. */
class Grow {
  ids = new Uint32Array(1 << 16);
  starts = new Uint32Array(1 << 16);
  length = 0;
  push(id: number, start: number): void {
    if (this.length === this.ids.length) {
      const ids = new Uint32Array(this.ids.length * 2);
      ids.set(this.ids);
      const starts = new Uint32Array(this.starts.length * 2);
      starts.set(this.starts);
      this.ids = ids;
      this.starts = starts;
    }
    this.ids[this.length] = id;
    this.starts[this.length] = start;
    this.length += 1;
  }
}

interface WindowTokens {
  ids: number[];
  /** Absolute code-point starts and ends. */
  starts: Uint32Array;
  ends: Uint32Array;
}

/** Exact ids of a long text from overlapping windows; the whole text at once if a check fails. */
export async function encodeLong(tokenizer: Tokenizer, text: string, withStarts: boolean, long: LongTextOptions = LONG_TEXT): Promise<TokenizedText> {
  const stitched = await encodeInWindows(tokenizer, text, long);
  if (stitched !== undefined) {
    return { ids: stitched.ids.slice(0, stitched.length), ...(withStarts ? { starts: stitched.starts.slice(0, stitched.length) } : {}) };
  }
  const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
  return { ids: Uint32Array.from(encoding.getIds()), ...(withStarts ? { starts: startsOf(encoding) } : {}) };
}

/** Exported for tests: the windowed encoding, or undefined when a cut could not be verified. */
export async function encodeInWindows(tokenizer: Tokenizer, text: string, long: LongTextOptions): Promise<Grow | undefined> {
  const cuts = [0];
  for (let at = long.piece; at < text.length - long.piece / 4; ) {
    const cut = cutNear(text, at);
    if (cut === -1) break;
    cuts.push(cut);
    at = cut + long.piece;
  }
  cuts.push(text.length);
  // Code points before a UTF-16 index, counted forward as the windows advance.
  let counted = 0;
  let lows = 0;
  const codePoint = (index: number): number => {
    if (index < counted) {
      counted = 0;
      lows = 0;
    }
    for (; counted < index; counted++) {
      const c = text.charCodeAt(counted);
      if (c >= 0xdc00 && c <= 0xdfff) lows++;
    }
    return index - lows;
  };
  const out = new Grow();
  let previous: WindowTokens | undefined;
  for (let p = 0; p + 1 < cuts.length; p++) {
    const from = cuts[p]!;
    const to = cuts[p + 1]!;
    const windowStart = Math.max(0, from - long.context);
    const windowEnd = Math.min(text.length, to + long.context);
    const base = codePoint(windowStart);
    const encoding = await tokenizer.encode(text.slice(windowStart, windowEnd), null, { addSpecialTokens: false });
    const offsets = encoding.getOffsets();
    const current: WindowTokens = { ids: encoding.getIds(), starts: new Uint32Array(offsets.length), ends: new Uint32Array(offsets.length) };
    offsets.forEach((offset, i) => {
      current.starts[i] = base + offset[0]!;
      current.ends[i] = base + offset[1]!;
    });
    const fromCp = codePoint(from);
    const toCp = codePoint(to);
    if (previous !== undefined && !agree(previous, current, fromCp, long.overlap)) return undefined;
    for (let i = 0; i < current.ids.length; i++) {
      const start = current.starts[i]!;
      if (start >= fromCp && (start < toCp || p + 2 === cuts.length)) out.push(current.ids[i]!, start);
    }
    previous = current;
  }
  return out;
}

/** Both windows tokenise the stretch around `cut` identically, and no token straddles `cut`. */
function agree(a: WindowTokens, b: WindowTokens, cut: number, overlap: number): boolean {
  const pick = (w: WindowTokens): string[] => {
    const out: string[] = [];
    for (let i = 0; i < w.ids.length; i++) {
      const start = w.starts[i]!;
      if (start < cut && w.ends[i]! > cut) out.push("straddles");
      if (start >= cut - overlap && start < cut + overlap) out.push(`${w.ids[i]}@${start}-${w.ends[i]}`);
    }
    return out;
  };
  const left = pick(a);
  const right = pick(b);
  return !left.includes("straddles") && !right.includes("straddles") && left.length > 0 && left.join(" ") === right.join(" ");
}
