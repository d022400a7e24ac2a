/**
 * JSON inside messages. By default JSON is kept verbatim (models tend to translate keys, break
 * quoting or mix languages). With `--translate-json`, only string *values* are translated: the
 * text is scanned token by token so that keys, numbers, layout and indentation stay byte for byte.
 */

/** One piece of a JSON text: verbatim structure or a string value to translate. */
export type JsonPiece = { kind: "verbatim"; text: string } | { kind: "value"; text: string };

/** True when `text` (trimmed) is a JSON object or array. */
export function isJsonDocument(text: string): boolean {
  const trimmed = text.trim();
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return false;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}

const STRING_LITERAL = /"(?:[^"\\\n]|\\.)*"/g;

/** Split a JSON text into structure and string values (decoded). Keys are structure. */
export function jsonValuePieces(text: string): JsonPiece[] {
  const pieces: JsonPiece[] = [];
  let at = 0;
  for (const match of text.matchAll(STRING_LITERAL)) {
    const end = match.index + match[0].length;
    const isKey = /^\s*:/.test(text.slice(end));
    const value = JSON.parse(match[0]) as string;
    if (isKey || !/\p{L}/u.test(value) || looksLikeIdentifier(value)) continue;
    // The quotes stay in the structure; only the body is replaced.
    pieces.push({ kind: "verbatim", text: text.slice(at, match.index + 1) });
    pieces.push({ kind: "value", text: value });
    at = end - 1;
  }
  pieces.push({ kind: "verbatim", text: text.slice(at) });
  return pieces.filter((piece) => piece.kind === "value" || piece.text !== "");
}

/** Ids, codes, paths and URLs ("a1", "user_id", "en-US", "/tmp/x") are data, not language. */
function looksLikeIdentifier(value: string): boolean {
  return /^[\p{L}\p{N}_.:/@#-]+$/u.test(value) && /[\d_./:@#]/.test(value);
}

/** Encode a translated value back into a JSON string literal's body (without the quotes). */
export function encodeJsonStringBody(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}
