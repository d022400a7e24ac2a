/**
 * `dolly`: databricks-dolly-15k style rows (`instruction`, `context`, `response`, optional `category`).
 *
 * The user turn is the instruction, followed by the context after a blank line when the context is
 * not empty. Dolly's context is reference text the instruction asks about, so it belongs to what
 * the user says; keeping it after the instruction reads naturally ("Summarise this: …") and keeps
 * the system prompt free for the chat template. There is no system turn.
 *
 * With `--lang xx`, columns named `<field>_xx` are used where the row has them (the aligned
 * English–Finnish file has `instruction_fi`, `context_fi`, `response_fi`).
 */
import type { Conversation } from "../records.ts";
import { columnOf, languageColumn, optionalText, recordId, requireText, sourceMeta } from "./fields.ts";
import type { FormatAdapter } from "./types.ts";

export const dolly: FormatAdapter = {
  name: "dolly",
  description: "instruction/context/response(/category) rows; --lang fi picks <field>_fi columns",
  fields: ["instruction", "context", "response", "category", "id"],
  supportsPairs: false,
  async *convert(rows, ctx) {
    for await (const { row, value } of rows) {
      const instruction = requireText(value, languageColumn(value, ctx, "instruction"), ctx, row);
      const context = optionalText(value, languageColumn(value, ctx, "context"), ctx, row) ?? "";
      const response = requireText(value, languageColumn(value, ctx, "response"), ctx, row);
      const category = optionalText(value, columnOf(ctx, "category"), ctx, row);
      const record: Conversation = {
        kind: "conversation",
        id: recordId(ctx, value[columnOf(ctx, "id")], "dolly", row),
        ...(ctx.lang === undefined ? {} : { lang: ctx.lang }),
        messages: [
          { role: "user", content: context === "" ? instruction : `${instruction}\n\n${context}` },
          { role: "assistant", content: response },
        ],
        meta: { ...sourceMeta(ctx, row), ...(category ? { category } : {}), has_context: context !== "" },
      };
      yield record;
    }
  },
};
