/**
 * JSON files whose top level is an array of objects.
 *
 * The file is parsed whole: JSON.parse cannot stream and an array must be complete to be valid.
 * Large datasets belong in JSONL or Parquet, which stream.
 */
import { buffer } from "node:stream/consumers";
import { InputError, KieloError } from "../../util/errors.ts";
import { describeType, isPlainObject, type SourceRow } from "./source-row.ts";
import { openTextStream, streamError } from "./text-stream.ts";
import { firstInvalidUtf8, jsonPathAt } from "./utf8.ts";

export async function* readJsonArray(path: string): AsyncGenerator<SourceRow> {
  let bytes: Buffer;
  try {
    bytes = await buffer(await openTextStream(path));
  } catch (error) {
    throw streamError(path, error);
  }
  let body = bytes.toString("utf8");
  const bad = firstInvalidUtf8(bytes);
  if (bad !== -1) throw invalidUtf8InArray(path, bytes, bad, body);
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

/** Bad UTF-8 in a JSON array file: the row is the array element, the field the path inside it. */
function invalidUtf8InArray(path: string, bytes: Buffer, at: number, body: string): InputError {
  const position = jsonPathAt(body, bytes.subarray(0, at).toString("utf8").length);
  const byte = `0x${bytes[at]!.toString(16).padStart(2, "0")}`;
  const hint = "Save the file as UTF-8, or fix the damaged text.";
  const match = position === undefined ? null : /^\[(\d+)\]\.?(.*)$/.exec(position.path);
  if (position === undefined || match === null) {
    return new InputError({ file: path }, `invalid UTF-8 (byte ${byte} at byte ${at + 1} of the file)`, { hint });
  }
  const field = match[2] === "" ? undefined : match[2];
  const where = position.key ? ` in the key ${JSON.stringify(field?.split(".").at(-1) ?? "")}` : "";
  return new InputError({ file: path, line: Number(match[1]) + 1, ...(field === undefined ? {} : { field }) }, `invalid UTF-8 (byte ${byte})${where}`, { hint });
}
