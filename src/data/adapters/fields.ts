/**
 * Reading fields out of source rows with errors that name file:row and field.
 */
import { basename } from "node:path";
import { InputError } from "../../util/errors.ts";
import type { Message, Role } from "../records.ts";
import { describeType, isPlainObject } from "../readers/source-row.ts";
import type { AdapterContext } from "./types.ts";

/** The source column of logical field `field`, after `--column` remapping. */
export function columnOf(ctx: AdapterContext, field: string): string {
  return ctx.columns?.[field] ?? field;
}

/**
 * The column to read for `field` in this row: `<column>_<lang>` when `--lang` is given and the row
 * has such a column (e.g. Dolly's `instruction_fi`), else the plain column.
 */
export function languageColumn(value: Record<string, unknown>, ctx: AdapterContext, field: string): string {
  const column = columnOf(ctx, field);
  if (ctx.lang !== undefined) {
    const localised = `${column}_${ctx.lang}`;
    if (localised in value) return localised;
  }
  return column;
}

export function fail(ctx: AdapterContext, row: number, field: string | undefined, message: string): InputError {
  return new InputError(field === undefined ? { file: ctx.file, line: row } : { file: ctx.file, line: row, field }, message);
}

/** A required string field (numbers are accepted and written as text: CSV and Parquet ids). */
export function requireText(
  value: Record<string, unknown>,
  column: string,
  ctx: AdapterContext,
  row: number,
  options: { allowEmpty?: boolean } = {},
): string {
  const raw = value[column];
  if (raw === undefined) {
    const known = Object.keys(value).slice(0, 12).join(", ");
    throw fail(ctx, row, column, `missing; the row has: ${known || "no fields"}`);
  }
  if (typeof raw !== "string") throw fail(ctx, row, column, `expected text, found ${describeType(raw)}`);
  const text = raw.trim();
  if (text === "" && !options.allowEmpty) throw fail(ctx, row, column, "is empty");
  return text;
}

/** An optional text field: undefined when absent or null; trimmed. */
export function optionalText(value: Record<string, unknown>, column: string, ctx: AdapterContext, row: number): string | undefined {
  const raw = value[column];
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "number") return String(raw);
  if (typeof raw !== "string") throw fail(ctx, row, column, `expected text, found ${describeType(raw)}`);
  return raw.trim();
}

/** A number field that may arrive as text (CSV). */
export function requireNumber(value: Record<string, unknown>, column: string, ctx: AdapterContext, row: number): number {
  const raw = value[column];
  const number = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(number)) {
    throw fail(ctx, row, column, raw === undefined ? "missing; expected a number" : `expected a number, found ${JSON.stringify(raw)}`);
  }
  return number;
}

/** The record id: the source's own id if it has one, else `<fallback>-<row>`; then `--id-prefix`. */
export function recordId(ctx: AdapterContext, sourceId: unknown, fallback: string, row: number): string {
  const own = typeof sourceId === "string" && sourceId.trim() !== "" ? sourceId.trim() : typeof sourceId === "number" ? String(sourceId) : undefined;
  return withIdPrefix(ctx, own ?? `${fallback}-${row}`);
}

/** Apply `--id-prefix` to an id. */
export function withIdPrefix(ctx: AdapterContext, id: string): string {
  return ctx.idPrefix ? `${ctx.idPrefix}-${id}` : id;
}

/** Provenance every record carries: the input file's name and the row it came from. */
export function sourceMeta(ctx: AdapterContext, row: number): { source: { file: string; row: number } } {
  return { source: { file: basename(ctx.file), row } };
}

/** Role names used by OpenAI, ShareGPT and OpenAssistant exports, mapped onto kielo's three roles. */
const ROLE_ALIASES: Record<string, Role> = {
  system: "system",
  user: "user",
  human: "user",
  prompter: "user",
  assistant: "assistant",
  gpt: "assistant",
  chatgpt: "assistant",
  bing: "assistant",
  bard: "assistant",
  model: "assistant",
};

export function normaliseRole(raw: unknown): Role | undefined {
  return typeof raw === "string" ? ROLE_ALIASES[raw.trim().toLowerCase()] : undefined;
}

export const KNOWN_ROLE_NAMES = Object.keys(ROLE_ALIASES).join(", ");

/**
 * Parse a message list in OpenAI (`role`/`content`) or ShareGPT (`from`/`value`) form.
 * Content may also be OpenAI's list of parts, of which only `text` parts are allowed.
 * Unknown roles and empty content are errors naming the field, e.g. `messages[2].role`.
 */
export function parseMessageList(
  raw: unknown,
  field: string,
  ctx: AdapterContext,
  row: number,
  options: { allowEmpty?: boolean } = {},
): Message[] {
  if (!Array.isArray(raw)) throw fail(ctx, row, field, `expected a list of messages, found ${describeType(raw)}`);
  return raw.map((item: unknown, index) => {
    const at = `${field}[${index}]`;
    if (!isPlainObject(item)) throw fail(ctx, row, at, `expected a message object, found ${describeType(item)}`);
    const roleKey = "role" in item ? "role" : "from" in item ? "from" : undefined;
    if (roleKey === undefined) throw fail(ctx, row, at, "has neither `role` nor `from`");
    const role = normaliseRole(item[roleKey]);
    if (role === undefined) {
      throw fail(ctx, row, `${at}.${roleKey}`, `unknown role ${JSON.stringify(item[roleKey])}; expected one of ${KNOWN_ROLE_NAMES}`);
    }
    const contentKey = "content" in item ? "content" : "value" in item ? "value" : undefined;
    if (contentKey === undefined) throw fail(ctx, row, at, "has neither `content` nor `value`");
    const content = contentText(item[contentKey], `${at}.${contentKey}`, ctx, row).trim();
    if (content === "" && !options.allowEmpty) throw fail(ctx, row, `${at}.${contentKey}`, "is empty");
    return { role, content };
  });
}

function contentText(raw: unknown, field: string, ctx: AdapterContext, row: number): string {
  if (typeof raw === "string") return raw;
  if (Array.isArray(raw)) {
    return raw
      .map((part: unknown, index) => {
        if (isPlainObject(part) && part["type"] === "text" && typeof part["text"] === "string") return part["text"];
        throw fail(ctx, row, `${field}[${index}]`, "only text parts ({type: \"text\", text}) are supported");
      })
      .join("");
  }
  throw fail(ctx, row, field, `expected text, found ${describeType(raw)}`);
}

