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
  const spans: CharSpan[] = [];
  for (const k of selected) {
    const start =
      k === 0 ? 0 : commonPrefixLength(template.render(messages.slice(0, k), { addGenerationPrompt: true }), text);
    const end = k === messages.length - 1 ? text.length : turnEnd(template, messages, k, start, text);
    // A previous span may end past this start only with a template that is not prefix-stable; keep spans disjoint.
    const previous = spans.at(-1);
    const clippedStart = previous !== undefined ? Math.max(start, previous.end) : start;
    if (end > clippedStart) spans.push({ start: clippedStart, end });
  }
  return { text, spans };
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
