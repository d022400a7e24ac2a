/**
 * langdetect's `messages.properties`: the character tables (Latin-1 exclusions, Vietnamese
 * normalisation, CJK kanji classes) as `key=value` lines with `\uXXXX` escapes.
 *
 * Parsed like `langdetect/utils/messages.py`: each line is stripped, split at the first `=`, and
 * the value's escapes are decoded. The shipped file uses only `\uXXXX` escapes; any other
 * backslash sequence is rejected rather than guessed.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InputError } from "../../util/errors.ts";

export const MESSAGES_FILE = fileURLToPath(new URL("../../../resources/langdetect/messages.properties", import.meta.url));

export interface Messages {
  file: string;
  values: ReadonlyMap<string, string>;
}

export function parseMessages(text: string, file: string): Messages {
  const values = new Map<string, string>();
  const lines = text.split("\n");
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === "") return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? "" : line.slice(eq + 1);
    values.set(key, decodeEscapes(value, { file, line: index + 1, field: key }));
  });
  return { file, values };
}

function decodeEscapes(value: string, where: { file: string; line: number; field: string }): string {
  return value.replace(/\\(u[0-9A-Fa-f]{4})?/g, (escape, hex: string | undefined) => {
    if (hex === undefined) {
      throw new InputError(where, `unsupported escape ${JSON.stringify(escape)}: expected \\uXXXX`);
    }
    return String.fromCharCode(parseInt(hex.slice(1), 16));
  });
}

export function loadMessages(file: string = MESSAGES_FILE): Messages {
  return parseMessages(readFileSync(file, "utf8"), file);
}

/** `messages.get_string(key)`, but a missing key is an error instead of `!key!`. */
export function requireMessage(messages: Messages, key: string): string {
  const value = messages.values.get(key);
  if (value === undefined) throw new InputError({ file: messages.file, field: key }, "missing key");
  return value;
}
