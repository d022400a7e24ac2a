/**
 * Streaming JSONL reading with `file:line` in every error.
 *
 * Lines are read one at a time (files larger than memory are fine). Blank lines are skipped.
 * A line that is not valid JSON, or not valid UTF-8, raises an InputError naming the file and line
 * (and for bad UTF-8 the field or key holding it). A name ending in `.gz` is gunzipped on the fly.
 */
import { isUtf8 } from "node:buffer";
import { InputError } from "../util/errors.ts";
import { byteLines } from "./readers/byte-lines.ts";
import { openTextStream, streamError } from "./readers/text-stream.ts";
import { invalidUtf8InJson } from "./readers/utf8.ts";

export interface JsonlLine {
  /** 1-based line number in the file. */
  line: number;
  value: unknown;
}

export async function* readJsonl(path: string): AsyncGenerator<JsonlLine> {
  const stream = await openTextStream(path);
  let line = 0;
  try {
    for await (const bytes of byteLines(stream)) {
      line += 1;
      if (!isUtf8(bytes)) throw invalidUtf8InJson(path, line, bytes);
      const text = bytes.toString("utf8");
      // A UTF-8 byte-order mark on the first line is not part of the JSON.
      const body = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      if (body.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch (error) {
        throw new InputError({ file: path, line }, `malformed JSON: ${(error as Error).message}`);
      }
      yield { line, value };
    }
  } catch (error) {
    throw streamError(path, error);
  } finally {
    stream.destroy();
  }
}

/** Serialise records as JSONL text (one compact JSON object per line, trailing newline). */
export function toJsonl(values: Iterable<unknown>): string {
  let out = "";
  for (const value of values) out += `${JSON.stringify(value)}\n`;
  return out;
}
