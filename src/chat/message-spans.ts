/**
 * Where each assistant message lies in a rendered conversation, found by rendering prefixes of the
 * conversation — no per-template markers needed, so it works for any template.
 *
 * For an assistant message k (0-based) of conversation m[0..n):
 * - its span starts where the prompt before it ends: after render(m[:k], add_generation_prompt=true),
 *   i.e. after the header that opens the assistant turn (`<|im_start|>assistant\n`, `[/INST]`), which
 *   is therefore NOT part of the span;
 * - its span ends where render(m[:k+1]) ends: so it includes everything the template writes for
 *   the turn after the content — the end-of-turn marker and/or EOS (`<|im_end|>\n`, ` </s>`) — which the
 *   model must learn to produce in order to stop.
 *
 * The start is the longest common prefix of render(m[:k], add_generation_prompt=true) with the full
 * render. The end is the length of render(m[:k+1]) when that is a prefix of the full render (the
 * common case). Some templates render the LAST message differently from the same message in the
 * middle of a conversation — Qwen3 adds an empty `<think>\n\n</think>\n\n` block to an assistant
 * turn after the last user message — so render(m[:k+1]) is not a prefix of the full render. Then the
 * end is found from the content: the message content is located in the full render (from the span's
 * start), and the text that render(m[:k+1]) puts after the content (the turn's end-of-turn suffix) is
 * matched after it. Where the template also appends text to every render regardless of
 * add_generation_prompt (the Llama-3 base config appends `<|start_header_id|>assistant<|end_header_id|>\n\n`),
 * that suffix only partly matches the next turn; the span then ends after the matching part
 * (`<|eot_id|><|start_header_id|>`): one header token too many is harmless, stopping early would
 * leave the end-of-turn token untrained.
 *
 * Rendering every prefix costs time quadratic in the number of turns (a 10,000-turn conversation
 * would take minutes). Long conversations therefore take a linear path that gives the same spans:
 * the conversation is rendered once more with marker characters around every message's content,
 * which tells where each content lies in the full render; a span's distance from its content
 * (start − content start, end − content end) depends only on the template text around it, so it is
 * computed by the exact rule above for the first, second and last turn of each kind of surrounding
 * (the text between the neighbouring contents, the roles, whether it is the final message) and
 * reused for the others. Any disagreement, or a template that moves, drops or repeats contents,
 * falls back to the exact rule for every turn. test/chat/long-conversations.test.ts checks both
 * paths agree on every template kielo ships or tests.
 */
import type { Message } from "../data/records.ts";
import type { ChatTemplate } from "./chat-template.ts";

/** A half-open range of UTF-16 code-unit indices into a rendered text. */
export interface CharSpan {
  start: number;
  end: number;
}

export type SpanSelection = "assistant" | "last-assistant";

export interface RenderedConversation {
  text: string;
  /** Spans of the selected assistant messages, in order, non-overlapping. */
  spans: CharSpan[];
}

export function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

export function renderConversation(
  template: ChatTemplate,
  messages: readonly Message[],
  selection: SpanSelection | "none",
): RenderedConversation {
  const text = template.render(messages);
  if (selection === "none") return { text, spans: [] };
  const indices: number[] = [];
  messages.forEach((m, k) => {
    if (m.role === "assistant") indices.push(k);
  });
  const selected = selection === "last-assistant" ? indices.slice(-1) : indices;
  const raw =
    (messages.length > EXACT_UP_TO ? learnedSpans(template, messages, selected, text) : undefined) ??
    selected.map((k) => exactSpan(template, messages, k, text));
  return { text, spans: disjoint(raw) };
}

/** Conversations up to this many messages always take the exact path (it is cheap for them). */
export const EXACT_UP_TO = 16;

/** Spans by the exact rule, every turn rendered (quadratic): for tests and for comparison. */
export function exactSpans(template: ChatTemplate, messages: readonly Message[], selected: readonly number[]): CharSpan[] {
  const text = template.render(messages);
  return disjoint(selected.map((k) => exactSpan(template, messages, k, text)));
}

/** A previous span may end past a start only with a template that is not prefix-stable; keep spans disjoint. */
function disjoint(raw: readonly CharSpan[]): CharSpan[] {
  const spans: CharSpan[] = [];
  for (const { start, end } of raw) {
    const previous = spans.at(-1);
    const clippedStart = previous !== undefined ? Math.max(start, previous.end) : start;
    if (end > clippedStart) spans.push({ start: clippedStart, end });
  }
  return spans;
}

/** The exact rule for assistant message k (see the top of this file). */
function exactSpan(template: ChatTemplate, messages: readonly Message[], k: number, text: string): CharSpan {
  const start = k === 0 ? 0 : commonPrefixLength(template.render(messages.slice(0, k), { addGenerationPrompt: true }), text);
  const end = k === messages.length - 1 ? text.length : turnEnd(template, messages, k, start, text);
  return { start, end };
}

const OPEN = "\uE000";
const CLOSE = "\uE001";
/** More kinds of surrounding than this: the template is not regular enough to learn from. */
const MAX_KINDS = 8;

/** Where every message's content lies in `text`, from one render with markers; undefined if unclear. */
function contentPositions(template: ChatTemplate, messages: readonly Message[], text: string): { start: number; end: number }[] | undefined {
  if (text.includes(OPEN) || text.includes(CLOSE)) return undefined;
  if (messages.some((m) => m.content.includes(OPEN) || m.content.includes(CLOSE))) return undefined;
  let marked: string;
  try {
    marked = template.render(messages.map((m) => ({ role: m.role, content: `${OPEN}${m.content}${CLOSE}` })));
  } catch {
    return undefined;
  }
  const positions: { start: number; end: number }[] = [];
  let plain = "";
  let from = 0;
  let open = -1;
  for (let i = 0; i < marked.length; i++) {
    const c = marked[i];
    if (c !== OPEN && c !== CLOSE) continue;
    plain += marked.slice(from, i);
    from = i + 1;
    if (c === OPEN) {
      if (open !== -1) return undefined;
      open = plain.length;
    } else {
      if (open === -1) return undefined;
      positions.push({ start: open, end: plain.length });
      open = -1;
    }
  }
  plain += marked.slice(from);
  // The markers must not have changed the render, and every content must appear exactly once, in order.
  if (open !== -1 || plain !== text || positions.length !== messages.length) return undefined;
  for (let j = 0; j < messages.length; j++) {
    const { start, end } = positions[j]!;
    if (text.slice(start, end) !== messages[j]!.content) return undefined;
  }
  return positions;
}

/** The linear path (see the top of this file); undefined when it cannot vouch for its answer. */
export function learnedSpans(template: ChatTemplate, messages: readonly Message[], selected: readonly number[], text: string): CharSpan[] | undefined {
  const at = contentPositions(template, messages, text);
  if (at === undefined) return undefined;
  const n = messages.length;
  const kindOf = (k: number): string =>
    JSON.stringify([
      messages[k - 1]?.role ?? null,
      messages[k + 1]?.role ?? null,
      text.slice(k === 0 ? 0 : at[k - 1]!.end, at[k]!.start),
      text.slice(at[k]!.end, k === n - 1 ? text.length : at[k + 1]!.start),
      k === n - 1,
    ]);
  const kinds = selected.map(kindOf);
  // Turns checked by the exact rule: the first, second and last of each kind.
  const checked = new Map<string, number[]>();
  kinds.forEach((kind, i) => {
    const list = checked.get(kind) ?? [];
    if (list.length < 2) list.push(i);
    else list[2] = i;
    checked.set(kind, list);
  });
  if (checked.size > MAX_KINDS) return undefined;
  const offsets = new Map<string, { start: number; end: number }>();
  for (const [kind, turns] of checked) {
    for (const i of turns) {
      const k = selected[i]!;
      const span = exactSpan(template, messages, k, text);
      const offset = { start: span.start - at[k]!.start, end: span.end - at[k]!.end };
      const learned = offsets.get(kind);
      if (learned === undefined) offsets.set(kind, offset);
      else if (learned.start !== offset.start || learned.end !== offset.end) return undefined;
    }
  }
  return selected.map((k, i) => {
    const offset = offsets.get(kinds[i]!)!;
    return { start: at[k]!.start + offset.start, end: at[k]!.end + offset.end };
  });
}

/** Where assistant message k (not the last message) ends in the full render `text`, end-of-turn included. */
function turnEnd(template: ChatTemplate, messages: readonly Message[], k: number, start: number, text: string): number {
  const alone = template.render(messages.slice(0, k + 1));
  if (text.startsWith(alone)) return alone.length;
  const content = messages[k]!.content;
  const at = text.startsWith(content, start) ? start : text.indexOf(content, start);
  const inAlone = alone.lastIndexOf(content);
  // The template rewrote the content (e.g. trimmed it): fall back to the common prefix.
  if (at === -1 || inAlone === -1) return commonPrefixLength(alone, text);
  const contentEnd = at + content.length;
  const suffix = alone.slice(inAlone + content.length);
  let matched = 0;
  while (matched < suffix.length && contentEnd + matched < text.length && suffix.charCodeAt(matched) === text.charCodeAt(contentEnd + matched)) matched++;
  return contentEnd + matched;
}
