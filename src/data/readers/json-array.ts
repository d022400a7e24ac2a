/**
 * JSON files whose top level is an array of objects.
 *
 * The file is parsed whole: JSON.parse cannot stream and an array must be complete to be valid.
 * Large datasets belong in JSONL or Parquet, which stream.
 */
import { text } from "node:stream/consumers";
import { InputError, KieloError } from "../../util/errors.ts";
import { describeType, isPlainObject, type SourceRow } from "./source-row.ts";
import { openTextStream, streamError } from "./text-stream.ts";

export async function* readJsonArray(path: string): AsyncGenerator<SourceRow> {
  let body: string;
  try {
    body = await text(await openTextStream(path));
  } catch (error) {
    throw streamError(path, error);
  }
  if (body.charCodeAt(0) === 0xfeff) body = body.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new KieloError(`${path}: malformed JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) {
    throw new KieloError(`${path}: expected a JSON array of objects at the top level, found ${describeType(parsed)}`, {
      hint: "Use --input-format jsonl for one object per line.",
    });
  }
  for (let index = 0; index < parsed.length; index++) {
    const value: unknown = parsed[index];
    if (!isPlainObject(value)) {
      throw new InputError({ file: path, line: index + 1 }, `array element ${index + 1} (index ${index}) is ${describeType(value)}, expected an object`);
    }
    yield { row: index + 1, value };
  }
}
