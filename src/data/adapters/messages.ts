/**
 * `messages`: chat rows in the OpenAI layout (`messages: [{role, content}]`) or the ShareGPT layout
 * (`conversations: [{from, value}]`, from = human/user, gpt/assistant/chatgpt/bing, system).
 *
 * Unknown roles and empty contents are errors naming the row and the message index: these layouts
 * are produced by tools, so a bad message is a broken file, not noise to skip. A conversation with
 * no assistant turn has nothing to train on and is dropped (`no-assistant-turn`); a trailing user
 * turn is trimmed (noted as `trailing-user-turn-trimmed`).
 */
import type { Conversation, Message } from "../records.ts";
import { columnOf, fail, parseMessageList, recordId, sourceMeta } from "./fields.ts";
import type { FormatAdapter } from "./types.ts";

export const messages: FormatAdapter = {
  name: "messages",
  description: "OpenAI `messages` [{role, content}] or ShareGPT `conversations` [{from, value}] rows",
  fields: ["messages", "conversations", "id", "lang"],
  supportsPairs: false,
  async *convert(rows, ctx) {
    for await (const { row, value } of rows) {
      const messagesColumn = columnOf(ctx, "messages");
      const conversationsColumn = columnOf(ctx, "conversations");
      const field = messagesColumn in value ? messagesColumn : conversationsColumn in value ? conversationsColumn : undefined;
      if (field === undefined) {
        throw fail(ctx, row, undefined, `expected a \`${messagesColumn}\` or \`${conversationsColumn}\` list`);
      }
      const list: Message[] = parseMessageList(value[field], field, ctx, row);
      while (list.length > 0 && list[list.length - 1]!.role === "user") {
        list.pop();
        ctx.tally.note("trailing-user-turn-trimmed");
      }
      if (!list.some((message) => message.role === "assistant")) {
        ctx.tally.drop("no-assistant-turn");
        continue;
      }
      const sourceLang = value[columnOf(ctx, "lang")];
      const lang = ctx.lang ?? (typeof sourceLang === "string" && sourceLang !== "" ? sourceLang : undefined);
      const record: Conversation = {
        kind: "conversation",
        id: recordId(ctx, value[columnOf(ctx, "id")], "messages", row),
        ...(lang === undefined ? {} : { lang }),
        messages: list,
        meta: { ...sourceMeta(ctx, row), layout: field === messagesColumn ? "openai" : "sharegpt" },
      };
      yield record;
    }
  },
};
