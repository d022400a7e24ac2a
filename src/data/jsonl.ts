/**
 * Streaming JSONL reading with `file:line` in every error.
 *
 * Lines are read one at a time (files larger than memory are fine). Blank lines are skipped.
 * A line that is not valid JSON raises an InputError naming the file and line.
 * A name ending in `.gz` is gunzipped on the fly.
 */
import { createInterface } from "node:readline";
import { InputError } from "../util/errors.ts";
import { openTextStream, streamError } from "./readers/text-stream.ts";

export interface JsonlLine {
  /** 1-based line number in the file. */
  line: number;
  value: unknown;
}

export async function* readJsonl(path: string): AsyncGenerator<JsonlLine> {
  const stream = await openTextStream(path);
  stream.setEncoding("utf8");
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
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
    lines.close();
    stream.destroy();
  }
}

/** Serialise records as JSONL text (one compact JSON object per line, trailing newline). */
export function toJsonl(values: Iterable<unknown>): string {
  let out = "";
  for (const value of values) out += `${JSON.stringify(value)}\n`;
  return out;
}
