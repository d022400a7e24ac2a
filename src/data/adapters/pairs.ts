/**
 * `pairs`: rows with `prompt`, `chosen` and `rejected`.
 *
 * Each of the three may be a string or a message list, which covers the layouts UltraFeedback is
 * shipped in: plain strings (prompt/chosen/rejected text), `trl-lib/ultrafeedback_binarized`
 * (no prompt; chosen and rejected are whole conversations that share their opening turns) and
 * `HuggingFaceH4/ultrafeedback_binarized` (a prompt string, and chosen/rejected lists that repeat it).
 *
 * Rule for lists: the prompt is the given prompt followed by the turns that chosen and rejected
 * share (a repeated copy of the given prompt is not added twice); after it, each side must have
 * exactly one assistant message, which becomes the reply. Anything else is an error naming the row.
 *
 * UltraFeedback is known to contain empty replies and identical chosen/rejected texts, so those are
 * dropped and counted (`empty-reply`, `identical`) rather than being errors.
 */
import type { Message, PreferencePair } from "../records.ts";
import { columnOf, fail, parseMessageList, recordId, sourceMeta } from "./fields.ts";
import { preferenceDropReason, sameMessage, sharedPrefixLength } from "./preference-checks.ts";
import type { AdapterContext, FormatAdapter } from "./types.ts";
import { describeType } from "../readers/source-row.ts";

/** Metadata fields worth keeping from known pair datasets (scores, origin indices). */
const KEPT_FIELDS = ["score_chosen", "score_rejected", "source_index", "metadata", "prompt_id", "source"];

export const pairs: FormatAdapter = {
  name: "pairs",
  description: "prompt/chosen/rejected rows (strings or message lists, e.g. UltraFeedback binarized)",
  fields: ["prompt", "chosen", "rejected", "id"],
  supportsPairs: true,
  async *convert(rows, ctx) {
    for await (const { row, value } of rows) {
      const promptColumn = columnOf(ctx, "prompt");
      const prompt = value[promptColumn] === undefined || value[promptColumn] === null ? [] : asMessages(value[promptColumn], promptColumn, "user", ctx, row);
      const chosenSide = side(value, columnOf(ctx, "chosen"), ctx, row);
      const rejectedSide = side(value, columnOf(ctx, "rejected"), ctx, row);
      const split = splitReplies(prompt, chosenSide, rejectedSide, ctx, row);
      const reason = preferenceDropReason(split.prompt, split.chosen, split.rejected);
      if (reason !== undefined) {
        if (reason === "prompt-not-ending-in-user-turn") {
          throw fail(ctx, row, promptColumn, "the prompt must end with a user turn (is the prompt column missing?)");
        }
        ctx.tally.drop(reason);
        continue;
      }
      const kept: Record<string, unknown> = {};
      for (const key of KEPT_FIELDS) if (value[key] !== undefined && value[key] !== null) kept[key] = value[key];
      const record: PreferencePair = {
        kind: "preference",
        id: recordId(ctx, value[columnOf(ctx, "id")], "pairs", row),
        ...(ctx.lang === undefined ? {} : { lang: ctx.lang }),
        prompt: split.prompt,
        chosen: split.chosen,
        rejected: split.rejected,
        meta: { ...sourceMeta(ctx, row), ...kept },
      };
      yield record;
    }
  },
};

type Side = { kind: "text"; text: string } | { kind: "list"; messages: Message[]; field: string };

function side(value: Record<string, unknown>, column: string, ctx: AdapterContext, row: number): Side {
  const raw = value[column];
  if (typeof raw === "string") return { kind: "text", text: raw.trim() };
  if (Array.isArray(raw)) return { kind: "list", messages: parseMessageList(raw, column, ctx, row, { allowEmpty: true }), field: column };
  throw fail(ctx, row, column, raw === undefined ? "missing" : `expected text or a message list, found ${describeType(raw)}`);
}

function asMessages(raw: unknown, field: string, role: "user", ctx: AdapterContext, row: number): Message[] {
  if (typeof raw === "string") return [{ role, content: raw.trim() }];
  // Empty turns are counted drops (`empty-turn`), as for the replies.
  return parseMessageList(raw, field, ctx, row, { allowEmpty: true });
}

function splitReplies(
  given: Message[],
  chosen: Side,
  rejected: Side,
  ctx: AdapterContext,
  row: number,
): { prompt: Message[]; chosen: string; rejected: string } {
  if (chosen.kind === "text" && rejected.kind === "text") return { prompt: given, chosen: chosen.text, rejected: rejected.text };
  const chosenList = chosen.kind === "list" ? withoutRepeatedPrompt(chosen.messages, given) : [{ role: "assistant" as const, content: chosen.text }];
  const rejectedList = rejected.kind === "list" ? withoutRepeatedPrompt(rejected.messages, given) : [{ role: "assistant" as const, content: rejected.text }];
  const shared = sharedPrefixLength(chosenList, rejectedList);
  // Identical lists share everything: compare the last turns as the replies.
  const k = shared === chosenList.length && shared === rejectedList.length ? shared - 1 : shared;
  const chosenTail = chosenList.slice(k);
  const rejectedTail = rejectedList.slice(k);
  for (const [tail, s] of [[chosenTail, chosen], [rejectedTail, rejected]] as const) {
    if (tail.length !== 1 || tail[0]!.role !== "assistant") {
      const field = s.kind === "list" ? s.field : undefined;
      throw fail(ctx, row, field, "after the turns chosen and rejected share, each must have exactly one assistant reply");
    }
  }
  return { prompt: [...given, ...chosenList.slice(0, k)], chosen: chosenTail[0]!.content, rejected: rejectedTail[0]!.content };
}

function withoutRepeatedPrompt(list: Message[], prompt: Message[]): Message[] {
  if (prompt.length === 0 || list.length < prompt.length) return list;
  return prompt.every((message, i) => sameMessage(message, list[i]!)) ? list.slice(prompt.length) : list;
}
