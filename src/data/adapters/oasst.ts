/**
 * `oasst`: OpenAssistant message trees → one conversation per tree (or, with `--pairs`, preference
 * pairs from ranked sibling replies).
 *
 * Accepted rows (all three may be mixed in one file):
 * - the tree export: `{message_tree_id, tree_state, prompt: {…, replies: [...]}}`;
 * - the nested message export: a root message (`parent_id` null) with nested `replies`;
 * - flat message rows (`message_id`, `parent_id`, …) as in the Hugging Face oasst1/oasst2 splits.
 *   They may come in any order; trees are assembled when the file has been read. A message whose
 *   parent is not in the file cannot be placed and is counted (`orphan-message` note); messages
 *   whose parents form a cycle are dropped and counted (`parent-cycle`).
 *
 * The path rule (one conversation per tree):
 * 1. A message is *eligible* unless it is deleted (`deleted: true`), its review failed or is pending
 *    (`review_result` false or null; a source without the field counts as reviewed), or its text is
 *    empty.
 * 2. Start at the root prompt. If the root is not eligible, the tree is dropped (`root-not-eligible`).
 * 3. At each turn take, among the eligible replies, the lowest `rank` (0 is best); a missing rank
 *    is worse than any rank. Ties are broken by preferring a reply that itself has an eligible reply
 *    (so the conversation goes on rather than ending on an unanswered user turn), then by
 *    `created_date` (earlier first; missing last), then by `message_id`. Prompter replies carry no
 *    rank, so for user turns this picks the earliest follow-up that was answered.
 * 4. Stop when the current message has no eligible reply.
 * 5. A trailing user turn is trimmed (`trailing-user-turn-trimmed` note); a tree left without an
 *    assistant turn is dropped (`no-assistant-reply`).
 *
 * `--pairs`: at every user turn along that same path, each two eligible assistant replies with
 * different ranks give a pair (better rank = chosen); the prompt is the path up to and including
 * that user turn. Unranked replies take part in no pair. Equal ranks are noted (`rank-tie`);
 * identical texts are dropped (`identical`).
 *
 * Text: `text`, or `text_<lang>` with `--lang` when present (the aligned Finnish validation file
 * has `text` in Finnish and `text_en` in English). Language: `--lang`, else the root's `lang`.
 */
import type { Conversation, Message, PreferencePair } from "../records.ts";
import type { SourceRow } from "../readers/index.ts";
import { describeType, isPlainObject } from "../readers/source-row.ts";
import { fail, sourceMeta, withIdPrefix } from "./fields.ts";
import type { AdapterContext, FormatAdapter } from "./types.ts";

export interface OasstNode {
  id: string;
  parentId: string | undefined;
  role: "user" | "assistant";
  text: string;
  lang: string | undefined;
  rank: number | undefined;
  created: string | undefined;
  eligible: boolean;
  /** Source row and field path, for errors and provenance. */
  row: number;
  replies: OasstNode[];
}

export const oasst: FormatAdapter = {
  name: "oasst",
  description: "OpenAssistant trees (tree export, nested or flat message rows) → best-ranked path; --pairs: ranked sibling pairs",
  fields: [],
  supportsPairs: true,
  async *convert(rows, ctx) {
    const flat = new Map<string, OasstNode>();
    const flatOrder: OasstNode[] = [];
    for await (const { row, value } of rows as AsyncIterable<SourceRow>) {
      if (isPlainObject(value["prompt"])) {
        yield* treeRecords(parseNested(value["prompt"], "prompt", undefined, ctx, row), ctx);
      } else if (Array.isArray(value["replies"]) && (value["parent_id"] === null || value["parent_id"] === undefined)) {
        yield* treeRecords(parseNested(value, "", undefined, ctx, row), ctx);
      } else {
        const node = parseMessage(value, "", undefined, ctx, row);
        if (flat.has(node.id)) throw fail(ctx, row, "message_id", `duplicate message id ${node.id}`);
        flat.set(node.id, node);
        flatOrder.push(node);
        // Nested replies under a non-root message: place them too.
        if (Array.isArray(value["replies"])) for (const reply of parseReplies(value, "", node.id, ctx, row)) flatOrder.push(...flatten(reply, flat, ctx));
      }
    }
    const roots: OasstNode[] = [];
    for (const node of flatOrder) {
      if (node.parentId === undefined) {
        roots.push(node);
        continue;
      }
      const parent = flat.get(node.parentId);
      if (parent === undefined) ctx.tally.note("orphan-message");
      else if (!parent.replies.includes(node)) parent.replies.push(node);
    }
    dropCycles(flatOrder, flat, ctx);
    for (const root of roots) yield* treeRecords(root, ctx);
  },
};

/**
 * Messages whose parent chain loops back on itself (a → c → b → a) have no root, so no tree holds
 * them: count each such message as dropped (`parent-cycle`) instead of losing it silently. Messages
 * below an orphan are not counted here: the orphan is (`orphan-message`).
 */
function dropCycles(nodes: readonly OasstNode[], byId: ReadonlyMap<string, OasstNode>, ctx: AdapterContext): void {
  const state = new Map<string, "placed" | "cycle" | "orphan">();
  for (const start of nodes) {
    const chain: OasstNode[] = [];
    const onChain = new Set<string>();
    let node: OasstNode | undefined = start;
    let outcome: "placed" | "cycle" | "orphan" = "placed";
    while (node !== undefined) {
      const known = state.get(node.id);
      if (known !== undefined) {
        outcome = known;
        break;
      }
      if (onChain.has(node.id)) {
        outcome = "cycle";
        break;
      }
      chain.push(node);
      onChain.add(node.id);
      if (node.parentId === undefined) break;
      node = byId.get(node.parentId);
      if (node === undefined) outcome = "orphan";
    }
    for (const member of chain) state.set(member.id, outcome);
    if (outcome === "cycle") for (let i = 0; i < chain.length; i++) ctx.tally.drop("parent-cycle");
  }
}

function flatten(node: OasstNode, into: Map<string, OasstNode>, ctx: AdapterContext): OasstNode[] {
  if (into.has(node.id)) throw fail(ctx, node.row, "message_id", `duplicate message id ${node.id}`);
  into.set(node.id, node);
  const out = [node];
  for (const reply of node.replies) out.push(...flatten(reply, into, ctx));
  node.replies = [];
  return out;
}

function parseNested(value: Record<string, unknown>, path: string, parentId: string | undefined, ctx: AdapterContext, row: number): OasstNode {
  const node = parseMessage(value, path, parentId, ctx, row);
  node.replies = parseReplies(value, path, node.id, ctx, row);
  return node;
}

function parseReplies(value: Record<string, unknown>, path: string, parentId: string, ctx: AdapterContext, row: number): OasstNode[] {
  const replies = value["replies"];
  if (replies === undefined || replies === null) return [];
  const field = join(path, "replies");
  if (!Array.isArray(replies)) throw fail(ctx, row, field, `expected a list, found ${describeType(replies)}`);
  return replies.map((reply: unknown, i) => {
    if (!isPlainObject(reply)) throw fail(ctx, row, `${field}[${i}]`, `expected a message object, found ${describeType(reply)}`);
    return parseNested(reply, `${field}[${i}]`, parentId, ctx, row);
  });
}

function join(path: string, field: string): string {
  return path === "" ? field : `${path}.${field}`;
}

function parseMessage(value: Record<string, unknown>, path: string, parentId: string | undefined, ctx: AdapterContext, row: number): OasstNode {
  const id = value["message_id"];
  if (typeof id !== "string" || id === "") throw fail(ctx, row, join(path, "message_id"), "missing or not a string");
  const rawRole = value["role"];
  const role = rawRole === "prompter" || rawRole === "user" ? "user" : rawRole === "assistant" ? "assistant" : undefined;
  if (role === undefined) {
    throw fail(ctx, row, join(path, "role"), `unknown role ${JSON.stringify(rawRole)}; expected "prompter" or "assistant"`);
  }
  const textField = ctx.lang !== undefined && typeof value[`text_${ctx.lang}`] === "string" ? `text_${ctx.lang}` : "text";
  const rawText = value[textField];
  if (typeof rawText !== "string") throw fail(ctx, row, join(path, textField), `expected text, found ${describeType(rawText)}`);
  const rank = value["rank"];
  if (rank !== undefined && rank !== null && typeof rank !== "number") {
    throw fail(ctx, row, join(path, "rank"), `expected a number or null, found ${describeType(rank)}`);
  }
  const rawParent = value["parent_id"];
  const text = rawText.trim();
  const review = value["review_result"];
  return {
    id,
    parentId: typeof rawParent === "string" && rawParent !== "" ? rawParent : parentId,
    role,
    text,
    lang: typeof value["lang"] === "string" ? value["lang"] : undefined,
    rank: typeof rank === "number" ? rank : undefined,
    created: typeof value["created_date"] === "string" ? value["created_date"] : undefined,
    eligible: value["deleted"] !== true && review !== false && review !== null && text !== "",
    row,
    replies: [],
  };
}

/** Orders eligible replies best first: rank (missing last), answered first, created date (missing last), id. */
export function compareReplies(a: OasstNode, b: OasstNode): number {
  const rankA = a.rank ?? Number.POSITIVE_INFINITY;
  const rankB = b.rank ?? Number.POSITIVE_INFINITY;
  if (rankA !== rankB) return rankA < rankB ? -1 : 1;
  const answeredA = a.replies.some((reply) => reply.eligible);
  const answeredB = b.replies.some((reply) => reply.eligible);
  if (answeredA !== answeredB) return answeredA ? -1 : 1;
  if (a.created !== b.created) {
    if (a.created === undefined) return 1;
    if (b.created === undefined) return -1;
    return a.created < b.created ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The best path from the root by the rule above (before trimming a trailing user turn). */
export function bestPath(root: OasstNode): OasstNode[] {
  const path = [root];
  let current = root;
  for (;;) {
    const next = current.replies.filter((reply) => reply.eligible).sort(compareReplies)[0];
    if (next === undefined) return path;
    path.push(next);
    current = next;
  }
}

function* treeRecords(root: OasstNode, ctx: AdapterContext): Generator<Conversation | PreferencePair> {
  if (!root.eligible) {
    ctx.tally.drop("root-not-eligible");
    return;
  }
  if (root.role !== "user") throw fail(ctx, root.row, "role", `the root message ${root.id} must be a prompter message`);
  const path = bestPath(root);
  const lang = ctx.lang ?? root.lang;
  if (ctx.pairs) {
    yield* pairRecords(path, lang, ctx);
    return;
  }
  if (path[path.length - 1]!.role === "user") {
    path.pop();
    ctx.tally.note("trailing-user-turn-trimmed");
  }
  if (path.length < 2) {
    ctx.tally.drop("no-assistant-reply");
    return;
  }
  yield {
    kind: "conversation",
    id: withIdPrefix(ctx, `oasst-${root.id}`),
    ...(lang === undefined ? {} : { lang }),
    messages: path.map((node): Message => ({ role: node.role, content: node.text })),
    meta: { ...sourceMeta(ctx, root.row), tree_id: root.id, message_ids: path.map((node) => node.id) },
  };
}

function* pairRecords(path: OasstNode[], lang: string | undefined, ctx: AdapterContext): Generator<PreferencePair> {
  let emitted = 0;
  for (let i = 0; i < path.length; i++) {
    const turn = path[i]!;
    if (turn.role !== "user") continue;
    const ranked = turn.replies.filter((reply) => reply.eligible && reply.role === "assistant" && reply.rank !== undefined).sort(compareReplies);
    const prompt = path.slice(0, i + 1).map((node): Message => ({ role: node.role, content: node.text }));
    for (let a = 0; a < ranked.length; a++) {
      for (let b = a + 1; b < ranked.length; b++) {
        const better = ranked[a]!;
        const worse = ranked[b]!;
        if (better.rank === worse.rank) {
          ctx.tally.note("rank-tie");
          continue;
        }
        if (better.text === worse.text) {
          ctx.tally.drop("identical");
          continue;
        }
        emitted++;
        yield {
          kind: "preference",
          id: withIdPrefix(ctx, `oasst-${better.id}-over-${worse.id}`),
          ...(lang === undefined ? {} : { lang }),
          prompt,
          chosen: better.text,
          rejected: worse.text,
          meta: {
            ...sourceMeta(ctx, turn.row),
            tree_id: path[0]!.id,
            prompt_message_ids: path.slice(0, i + 1).map((node) => node.id),
            chosen_id: better.id,
            rejected_id: worse.id,
            chosen_rank: better.rank,
            rejected_rank: worse.rank,
          },
        };
      }
    }
  }
  if (emitted === 0) ctx.tally.drop("no-ranked-pair");
}
