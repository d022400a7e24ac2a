/**
 * `qa-context`: question + context + answer rows, in the prompt format of the reference Hindi/English
 * Q&A notebook.
 *
 * Contract with the built-in `qa-context` chat template: the system turn is exactly
 * `Answer the question based on the context below.`, the user turn is
 * `[context]: {context} [/context]\n[question]  {question} [/question]` (two spaces after
 * `[question]`, as in the notebook) with the `[context]: … [/context]\n` part left out entirely when
 * the context is empty, the assistant turn is the answer, and `meta.template` is `"qa-context"`.
 * The template then renders `<s> [INST] <<SYS>> {system} <</SYS>> \n{user}[/INST] {answer}</s>`,
 * which is the notebook's training string.
 */
import type { Conversation } from "../records.ts";
import { columnOf, languageColumn, optionalText, recordId, requireText, sourceMeta } from "./fields.ts";
import type { FormatAdapter } from "./types.ts";

export const QA_CONTEXT_SYSTEM = "Answer the question based on the context below.";

export function qaContextUserTurn(question: string, context: string): string {
  const contextPart = context === "" ? "" : `[context]: ${context} [/context]\n`;
  return `${contextPart}[question]  ${question} [/question]`;
}

export const qaContext: FormatAdapter = {
  name: "qa-context",
  description: "question/context/answer rows in the reference notebook's Q&A prompt format (template qa-context)",
  fields: ["question", "context", "answer", "id"],
  supportsPairs: false,
  async *convert(rows, ctx) {
    for await (const { row, value } of rows) {
      const question = requireText(value, languageColumn(value, ctx, "question"), ctx, row);
      const context = optionalText(value, languageColumn(value, ctx, "context"), ctx, row) ?? "";
      const answer = requireText(value, languageColumn(value, ctx, "answer"), ctx, row);
      const record: Conversation = {
        kind: "conversation",
        id: recordId(ctx, value[columnOf(ctx, "id")], "qa-context", row),
        ...(ctx.lang === undefined ? {} : { lang: ctx.lang }),
        messages: [
          { role: "system", content: QA_CONTEXT_SYSTEM },
          { role: "user", content: qaContextUserTurn(question, context) },
          { role: "assistant", content: answer },
        ],
        meta: { ...sourceMeta(ctx, row), template: "qa-context" },
      };
      yield record;
    }
  },
};
