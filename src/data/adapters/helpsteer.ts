/**
 * `helpsteer`: NVIDIA HelpSteer2 rows (`prompt, response, helpfulness, correctness, coherence,
 * complexity, verbosity`; ratings 0–4). Consecutive rows with the same prompt are the responses to
 * that prompt (two in HelpSteer2).
 *
 * One preference pair per prompt: the response with the higher `helpfulness` is chosen, the other
 * rejected. Rules:
 * - equal helpfulness → dropped and counted as `helpfulness-tie` (no other attribute breaks the tie:
 *   helpfulness is HelpSteer2's overall score, and the paper's pairs use it alone);
 * - a prompt with a single response → `single-response`;
 * - more than two responses → the most helpful against the least helpful (first in file order among
 *   equals); if all are equally helpful, `helpfulness-tie`.
 * Multi-turn prompts use HelpSteer2's `<extra_id_1>User` / `<extra_id_1>Assistant` turn markers and
 * are split into turns.
 */
import type { Message, PreferencePair } from "../records.ts";
import type { SourceRow } from "../readers/index.ts";
import { columnOf, fail, recordId, requireNumber, requireText, sourceMeta } from "./fields.ts";
import { preferenceDropReason } from "./preference-checks.ts";
import type { AdapterContext, FormatAdapter } from "./types.ts";

const ATTRIBUTES = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"] as const;
const TURN_MARKER = /\n?<extra_id_1>(User|Assistant)\n?/;

interface Response {
  row: number;
  text: string;
  scores: Record<string, number>;
}

/** Split a HelpSteer2 prompt into turns; the text before the first marker is the first user turn. */
export function parseHelpSteerPrompt(prompt: string): Message[] {
  const parts = prompt.split(TURN_MARKER);
  const turns: Message[] = [{ role: "user", content: parts[0]!.trim() }];
  for (let k = 1; k < parts.length; k += 2) {
    turns.push({ role: parts[k] === "User" ? "user" : "assistant", content: parts[k + 1]!.trim() });
  }
  return turns;
}

export const helpsteer: FormatAdapter = {
  name: "helpsteer",
  description: "HelpSteer2 rated responses (two per prompt) → preference pairs by helpfulness; ties dropped",
  fields: ["prompt", "response", ...ATTRIBUTES],
  supportsPairs: true,
  async *convert(rows, ctx) {
    let prompt: string | undefined;
    let firstRow = 0;
    let group: Response[] = [];
    const flush = (): PreferencePair | undefined => {
      const pair = prompt === undefined ? undefined : pairOf(prompt, firstRow, group, ctx);
      group = [];
      return pair;
    };
    for await (const { row, value } of rows as AsyncIterable<SourceRow>) {
      const text = requireText(value, columnOf(ctx, "prompt"), ctx, row);
      if (text !== prompt) {
        const pair = flush();
        if (pair) yield pair;
        prompt = text;
        firstRow = row;
      }
      const scores: Record<string, number> = {};
      for (const attribute of ATTRIBUTES) {
        const column = columnOf(ctx, attribute);
        if (attribute === "helpfulness" || value[column] !== undefined) scores[attribute] = requireNumber(value, column, ctx, row);
      }
      group.push({ row, text: requireText(value, columnOf(ctx, "response"), ctx, row, { allowEmpty: true }), scores });
    }
    const pair = flush();
    if (pair) yield pair;
  },
};

function pairOf(promptText: string, row: number, group: Response[], ctx: AdapterContext): PreferencePair | undefined {
  if (group.length < 2) {
    ctx.tally.drop("single-response");
    return undefined;
  }
  let best = group[0]!;
  let worst = group[0]!;
  for (const response of group) {
    if (response.scores["helpfulness"]! > best.scores["helpfulness"]!) best = response;
    if (response.scores["helpfulness"]! < worst.scores["helpfulness"]!) worst = response;
  }
  if (best.scores["helpfulness"] === worst.scores["helpfulness"]) {
    ctx.tally.drop("helpfulness-tie");
    return undefined;
  }
  const prompt = parseHelpSteerPrompt(promptText);
  if (prompt[prompt.length - 1]!.role !== "user") {
    throw fail(ctx, row, columnOf(ctx, "prompt"), "a multi-turn prompt must end with a user turn");
  }
  const reason = preferenceDropReason(prompt, best.text, worst.text);
  if (reason !== undefined) {
    ctx.tally.drop(reason);
    return undefined;
  }
  return {
    kind: "preference",
    id: recordId(ctx, undefined, "helpsteer", row),
    lang: ctx.lang ?? "en",
    prompt,
    chosen: best.text,
    rejected: worst.text,
    meta: {
      ...sourceMeta(ctx, row),
      rows: group.map((response) => response.row),
      chosen_scores: best.scores,
      rejected_scores: worst.scores,
    },
  };
}
