/**
 * `hh-rlhf`: Anthropic HH-RLHF rows, `{chosen, rejected}`, each a whole transcript
 * `\n\nHuman: … \n\nAssistant: …`.
 *
 * Both transcripts are split into turns at `\n\nHuman:` / `\n\nAssistant:` (each turn trimmed). The
 * turns they share from the start become the prompt; what follows must be exactly one assistant
 * turn on each side: those are chosen and rejected. The dataset is known to hold rows that do not
 * fit, so these are dropped and counted, not errors:
 * - `identical`: chosen and rejected are the same (whole transcript or final reply);
 * - `no-shared-prefix`: after the shared turns either side has more than one turn, or a human turn;
 * - `empty-reply` / `empty-turn`: an empty final reply, or an empty turn inside the prompt;
 * - `non-alternating-turns`: two consecutive turns of the same speaker in the prompt (chat templates
 *   such as Llama-2's refuse them, and merging them would invent text the raters never saw).
 * A transcript that does not start with `Human:` is an error (it is not HH-RLHF text).
 */
import type { Message, PreferencePair } from "../records.ts";
import { columnOf, fail, recordId, requireText, sourceMeta } from "./fields.ts";
import { preferenceDropReason, sharedPrefixLength } from "./preference-checks.ts";
import type { AdapterContext, FormatAdapter } from "./types.ts";

const TURN_MARKER = /\n\n(Human|Assistant):/;

/** Split a transcript into turns; throws if it does not start with a speaker marker. */
export function parseTranscript(text: string, ctx: AdapterContext, row: number, field: string): Message[] {
  // Some copies lose the leading blank line; the first marker may then start the text directly.
  const normalised = text.startsWith("Human:") || text.startsWith("Assistant:") ? `\n\n${text}` : text;
  const parts = normalised.split(TURN_MARKER);
  if (parts[0]!.trim() !== "" || parts.length < 3) {
    throw fail(ctx, row, field, "expected a transcript of `\\n\\nHuman: …` / `\\n\\nAssistant: …` turns");
  }
  const turns: Message[] = [];
  for (let k = 1; k < parts.length; k += 2) {
    turns.push({ role: parts[k] === "Human" ? "user" : "assistant", content: parts[k + 1]!.trim() });
  }
  return turns;
}

export const hhRlhf: FormatAdapter = {
  name: "hh-rlhf",
  description: "Anthropic HH-RLHF chosen/rejected transcripts → preference pairs (shared turns = prompt)",
  fields: ["chosen", "rejected", "id"],
  supportsPairs: true,
  async *convert(rows, ctx) {
    for await (const { row, value } of rows) {
      const chosenColumn = columnOf(ctx, "chosen");
      const rejectedColumn = columnOf(ctx, "rejected");
      const chosenText = requireText(value, chosenColumn, ctx, row, { allowEmpty: true });
      const rejectedText = requireText(value, rejectedColumn, ctx, row, { allowEmpty: true });
      const chosen = parseTranscript(chosenText, ctx, row, chosenColumn);
      const rejected = parseTranscript(rejectedText, ctx, row, rejectedColumn);
      if (chosenText === rejectedText) {
        ctx.tally.drop("identical");
        continue;
      }
      const k = sharedPrefixLength(chosen, rejected);
      const chosenTail = chosen.slice(k);
      const rejectedTail = rejected.slice(k);
      const oneReply = (tail: Message[]) => tail.length === 1 && tail[0]!.role === "assistant";
      if (!oneReply(chosenTail) || !oneReply(rejectedTail)) {
        ctx.tally.drop("no-shared-prefix");
        continue;
      }
      const prompt = chosen.slice(0, k);
      const reason = preferenceDropReason(prompt, chosenTail[0]!.content, rejectedTail[0]!.content);
      if (reason !== undefined) {
        ctx.tally.drop(reason);
        continue;
      }
      if (prompt.some((message, i) => i > 0 && prompt[i - 1]!.role === message.role)) {
        ctx.tally.drop("non-alternating-turns");
        continue;
      }
      const record: PreferencePair = {
        kind: "preference",
        id: recordId(ctx, value[columnOf(ctx, "id")], "hh-rlhf", row),
        lang: ctx.lang ?? "en",
        prompt,
        chosen: chosenTail[0]!.content,
        rejected: rejectedTail[0]!.content,
        meta: sourceMeta(ctx, row),
      };
      yield record;
    }
  },
};
