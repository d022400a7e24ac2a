/**
 * Input text must be valid UTF-8. Decoders replace a bad byte with U+FFFD and carry on, which turns
 * a damaged or mis-encoded file (Latin-1, a cut multi-byte character) into silently changed data.
 * The readers check every line (record, cell) and report the first bad byte as
 * `file:row (field f): invalid UTF-8 …`, naming the field (or key) it sits in.
 */
import { isUtf8 } from "node:buffer";
import { InputError } from "../../util/errors.ts";

const lenient = new TextDecoder("utf-8");

/** Byte offset of the first byte that does not begin or continue a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i += 1;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}

/** Where a character index lies in a JSON text: the field path of the string around it. */
export interface JsonPosition {
  /** e.g. `messages[1].content`; "" for the top level. */
  path: string;
  /** The index is inside an object key (the path then ends with that key, as decoded). */
  key: boolean;
}

function joinPath(parent: string, part: string | number): string {
  if (typeof part === "number") return `${parent}[${part}]`;
  return parent === "" ? part : `${parent}.${part}`;
}

interface Frame {
  kind: "object" | "array";
  path: string;
  /** Object: the current key (once read); array: the current element index. */
  key: string | undefined;
  index: number;
  expectKey: boolean;
}

/**
 * The field path at character `index` of a JSON text. Scans tokens only as far as `index`; the text
 * need not parse (a bad byte decoded as U+FFFD leaves it well-formed, a cut line does not).
 */
export function jsonPathAt(text: string, index: number): JsonPosition | undefined {
  const stack: Frame[] = [];
  const here = (): string => {
    const top = stack.at(-1);
    if (top === undefined) return "";
    return top.kind === "array" ? joinPath(top.path, top.index) : top.key === undefined ? top.path : joinPath(top.path, top.key);
  };
  let i = 0;
  while (i < text.length && i <= index) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack.at(-1);
      const isKey = top?.kind === "object" && top.expectKey;
      if (index >= i && index <= j) {
        if (isKey) {
          let name: string;
          try {
            name = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            name = text.slice(i + 1, j);
          }
          return { path: joinPath(top.path, name), key: true };
        }
        return { path: here(), key: false };
      }
      if (isKey) {
        try {
          top.key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          top.key = text.slice(i + 1, j);
        }
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[") {
      stack.push({ kind: c === "{" ? "object" : "array", path: here(), key: undefined, index: 0, expectKey: c === "{" });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack.at(-1);
      if (top?.kind === "array") top.index += 1;
      else if (top !== undefined) {
        top.expectKey = true;
        top.key = undefined;
      }
    }
    i += 1;
  }
  return undefined;
}

function hexByte(bytes: Uint8Array, at: number): string {
  return `0x${bytes[at]!.toString(16).padStart(2, "0")}`;
}

const HINT = "Save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or fix the damaged text.";

/**
 * The error for a line (JSONL) or document (JSON) that is not valid UTF-8: names the row and the
 * field or key that holds the bad byte. `rowOf` maps a path to its row for a JSON array file.
 */
export function invalidUtf8InJson(file: string, row: number, bytes: Uint8Array): InputError {
  const at = firstInvalidUtf8(bytes);
  const charIndex = lenient.decode(bytes.subarray(0, at)).length;
  const position = jsonPathAt(lenient.decode(bytes), charIndex);
  const detail = `invalid UTF-8 (byte ${hexByte(bytes, at)} at byte ${at + 1} of the line)`;
  if (position === undefined || position.path === "") return new InputError({ file, line: row }, detail, { hint: HINT });
  if (!position.key) return new InputError({ file, line: row, field: position.path }, detail, { hint: HINT });
  // A key: the field is the object holding it; the key itself is shown as decoded (bad bytes as �).
  const parts = position.path.split(".");
  const key = parts.pop()!;
  const parent = parts.join(".");
  return new InputError({ file, line: row, ...(parent === "" ? {} : { field: parent }) }, `${detail} in the key ${JSON.stringify(key)}`, { hint: HINT });
}

/** The error for a CSV cell or Parquet value that is not valid UTF-8. */
export function invalidUtf8InValue(file: string, row: number, field: string, bytes: Uint8Array, what = "value"): InputError {
  const at = firstInvalidUtf8(bytes);
  return new InputError({ file, line: row, field }, `invalid UTF-8 in the ${what} (byte ${hexByte(bytes, at)} at byte ${at + 1})`, { hint: HINT });
}

/** Decode bytes known to be checked, or fail with `onInvalid`. */
export function decodeStrict(bytes: Uint8Array, onInvalid: () => Error): string {
  if (!isUtf8(bytes)) throw onInvalid();
  return lenient.decode(bytes);
}
