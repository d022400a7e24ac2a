/**
 * The translatable text fields of a record, addressed by path (`messages[2].content`, `chosen`),
 * and how to rebuild a record with new texts. Roles, ids and structure are never touched.
 */
import type { KieloRecord, Message } from "../data/records.ts";

export interface TextField {
  path: string;
  text: string;
}

export function textFields(record: KieloRecord): TextField[] {
  if (record.kind === "conversation") {
    return record.messages.map((message, i) => ({ path: `messages[${i}].content`, text: message.content }));
  }
  return [
    ...record.prompt.map((message, i) => ({ path: `prompt[${i}].content`, text: message.content })),
    { path: "chosen", text: record.chosen },
    { path: "rejected", text: record.rejected },
  ];
}

/** A copy of `record` with each field's text replaced by `texts.get(path)` (absent: unchanged). */
export function withTexts<R extends KieloRecord>(record: R, texts: ReadonlyMap<string, string>): R {
  const swap = (messages: Message[], prefix: string) =>
    messages.map((message, i) => ({ ...message, content: texts.get(`${prefix}[${i}].content`) ?? message.content }));
  if (record.kind === "conversation") return { ...record, messages: swap(record.messages, "messages") };
  return {
    ...record,
    prompt: swap(record.prompt, "prompt"),
    chosen: texts.get("chosen") ?? record.chosen,
    rejected: texts.get("rejected") ?? record.rejected,
  };
}

/** The source texts kept in an output row's meta, in the record's own shape. */
export function sourceTexts(record: KieloRecord): Record<string, unknown> {
  if (record.kind === "conversation") return { messages: record.messages };
  return { prompt: record.prompt, chosen: record.chosen, rejected: record.rejected };
}
