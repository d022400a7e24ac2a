/**
 * Splitting a message into what is sent to the translator and what is kept verbatim.
 *
 * A message becomes a layout: a list of pieces, each either verbatim text (fenced code blocks,
 * the whitespace between paragraphs, text without letters) or a segment to translate. Paragraphs
 * (separated by blank lines) are packed into segments of at most `maxChars` characters; a single
 * paragraph longer than that is split at line breaks, then at sentence ends. Joining the pieces of
 * a layout with their translations gives the translated message; joining them with the sources
 * gives back the original message exactly.
 */

import { FENCE } from "../text/fences.ts";
import { encodeJsonStringBody, isJsonDocument, jsonValuePieces } from "./json-values.ts";

/** A segment with `json` set is a JSON string value: its translation is re-escaped on assembly. */
export type Piece = { kind: "verbatim"; text: string } | { kind: "segment"; text: string; json?: boolean };

export interface SegmentOptions {
  /** Maximum characters per segment (a longer single sentence is still sent whole). */
  maxChars: number;
  /** Translate string values of JSON (whole-message JSON and ```json blocks); else keep JSON verbatim. */
  translateJson?: boolean;
}

export function segmentMessage(text: string, options: SegmentOptions): Piece[] {
  if (isJsonDocument(text)) {
    return options.translateJson ? mergeVerbatim(jsonSegments(text)) : [{ kind: "verbatim", text }];
  }
  const pieces: Piece[] = [];
  let at = 0;
  for (const match of text.matchAll(FENCE)) {
    pushProse(pieces, text.slice(at, match.index), options);
    pieces.push(...(options.translateJson ? fencedJson(match[0]) : [{ kind: "verbatim" as const, text: match[0] }]));
    at = match.index + match[0].length;
  }
  pushProse(pieces, text.slice(at), options);
  return mergeVerbatim(pieces);
}

function jsonSegments(text: string): Piece[] {
  return jsonValuePieces(text).map((piece) =>
    piece.kind === "value" ? { kind: "segment", text: piece.text, json: true } : { kind: "verbatim", text: piece.text },
  );
}

/** A fenced ```json block: the fences verbatim, string values of its body translated. */
function fencedJson(block: string): Piece[] {
  const match = /^([ \t]*(`{3,}|~{3,})[ \t]*json[^\n]*\n)([\s\S]*?)(\n[ \t]*\2[ \t]*)$/i.exec(block);
  if (match === null || !isJsonDocument(match[3]!)) return [{ kind: "verbatim", text: block }];
  return [{ kind: "verbatim", text: match[1]! }, ...jsonSegments(match[3]!), { kind: "verbatim", text: match[4]! }];
}

/** Reassemble a layout, giving each segment's text through `translate`. */
export function assemble(pieces: readonly Piece[], translate: (segment: string, index: number) => string): string {
  let out = "";
  let index = 0;
  for (const piece of pieces) {
    if (piece.kind === "verbatim") out += piece.text;
    else {
      const translated = translate(piece.text, index++);
      out += piece.json ? encodeJsonStringBody(translated) : translated;
    }
  }
  return out;
}

function pushProse(pieces: Piece[], prose: string, options: SegmentOptions): void {
  if (prose === "") return;
  // Split into paragraphs, keeping the separators (blank lines and the whitespace around them).
  const parts = prose.split(/(\n[ \t]*\n\s*)/);
  let group = "";
  let pendingSeparator = "";
  const flush = () => {
    if (group !== "") pushSegmentWithEdges(pieces, group, options);
    group = "";
  };
  for (let i = 0; i < parts.length; i += 2) {
    const paragraph = parts[i]!;
    const separator = parts[i + 1] ?? "";
    if (group !== "" && group.length + pendingSeparator.length + paragraph.length > options.maxChars) {
      flush();
      pieces.push({ kind: "verbatim", text: pendingSeparator });
    } else {
      group += pendingSeparator;
    }
    group += paragraph;
    pendingSeparator = separator;
  }
  flush();
  if (pendingSeparator !== "") pieces.push({ kind: "verbatim", text: pendingSeparator });
}

/** Leading and trailing whitespace stays verbatim; text without letters is not sent at all. */
function pushSegmentWithEdges(pieces: Piece[], text: string, options: SegmentOptions): void {
  const match = /^(\s*)([\s\S]*?)(\s*)$/.exec(text)!;
  const [, lead, body, trail] = match as unknown as [string, string, string, string];
  if (lead) pieces.push({ kind: "verbatim", text: lead });
  if (body !== "") {
    if (!/\p{L}/u.test(body)) pieces.push({ kind: "verbatim", text: body });
    else if (body.length > options.maxChars) splitLong(pieces, body, options);
    else pieces.push({ kind: "segment", text: body });
  }
  if (trail) pieces.push({ kind: "verbatim", text: trail });
}

/** A paragraph over the limit: split at line breaks, else after sentence ends. */
function splitLong(pieces: Piece[], body: string, options: SegmentOptions): void {
  const byLines = body.split(/(\n\s*)/);
  const units = byLines.length > 1 ? byLines : body.split(/(?<=[.!?…])(\s+)(?=\S)/);
  if (units.length === 1) {
    pieces.push({ kind: "segment", text: body });
    return;
  }
  let group = "";
  let pending = "";
  const emit = () => pushSegmentWithEdges(pieces, group, { maxChars: Number.POSITIVE_INFINITY });
  for (let i = 0; i < units.length; i += 2) {
    const unit = units[i]!;
    if (group === "") group = unit;
    else if (group.length + pending.length + unit.length > options.maxChars) {
      emit();
      pieces.push({ kind: "verbatim", text: pending });
      group = unit;
    } else group += pending + unit;
    pending = units[i + 1] ?? "";
  }
  if (group !== "") emit();
  if (pending !== "") pieces.push({ kind: "verbatim", text: pending });
}

function mergeVerbatim(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const piece of pieces) {
    const last = out[out.length - 1];
    if (piece.kind === "verbatim" && last?.kind === "verbatim") last.text += piece.text;
    else if (piece.kind !== "verbatim" || piece.text !== "") out.push({ ...piece });
  }
  return out;
}
