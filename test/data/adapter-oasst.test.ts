import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { KieloRecord } from "../../src/data/records.ts";
import { fixture, runAdapter, tempDir } from "./helpers.ts";

const TREES = fixture("oasst/en_tree_sample.jsonl");
const MESSAGE_TREES = fixture("oasst/en_message_sample.jsonl");
const FLAT_EN = fixture("oasst/validation_en_sample.jsonl");
const FLAT_FI = fixture("oasst/validation_fi_sample.jsonl");

const tmp = tempDir();
after(tmp.cleanup);

/** First 8 characters of each message id on a record's path: compact, and what a person checks. */
function shortPath(record: KieloRecord): string[] {
  return (record.meta["message_ids"] as string[]).map((id) => id.slice(0, 8));
}

/** Rewrite the flat English fixture with some messages changed, to exercise one rule at a time. */
function flatVariant(name: string, change: (message: Record<string, unknown>) => void): string {
  const lines = readFileSync(FLAT_EN, "utf8").trimEnd().split("\n");
  const path = join(tmp.dir, name);
  writeFileSync(path, lines.map((line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    change(message);
    return JSON.stringify(message);
  }).join("\n") + "\n");
  return path;
}

describe("oasst adapter: conversations along the best-ranked path", () => {
  test("tree export: one conversation per tree, hand-checked paths", async () => {
    const { records, dropped, notes } = await runAdapter("oasst", TREES);
    assert.deepEqual(dropped, {});
    assert.deepEqual(records[0], {
      kind: "conversation",
      id: "oasst-054e1df3-35e0-4bb8-a585-607dbdcd24e0",
      lang: "en",
      messages: [
        { role: "user", content: "How can I find the best 401k plan for my needs?" },
        {
          role: "assistant",
          content:
            "The first step is to research your options. You should look at different plans and compare them based on fees, investment options, and other features. Once you have narrowed down your choices, you can contact a financial advisor or review online resources such as reviews from industry experts or customer ratings. Finally, make sure to read through all of the terms and conditions associated with each plan before making a decision.",
        },
      ],
      meta: {
        source: { file: "en_tree_sample.jsonl", row: 1 },
        tree_id: "054e1df3-35e0-4bb8-a585-607dbdcd24e0",
        message_ids: ["054e1df3-35e0-4bb8-a585-607dbdcd24e0", "fa783ef0-4f4e-457d-b429-afd89edf8757"],
      },
    });
    // 4c40963f: rank 0 reply 175a16ef, whose only follow-up (8d6d077c) was never answered → trimmed.
    assert.deepEqual(shortPath(records[1]!), ["4c40963f", "175a16ef"]);
    assert.deepEqual(shortPath(records[2]!), ["d26fa28e", "40bdd64a"]);
    // 4fce6bce: after rank-0 73baf04a, four unranked follow-ups; cf410e71 and c303987a were answered,
    // 2e0b6bea and c491caf1 not. No created dates in this export, so the lower id wins: c303987a.
    // Its replies are ranked: c04ff4df (rank 0).
    assert.deepEqual(shortPath(records[3]!), ["4fce6bce", "73baf04a", "c303987a", "c04ff4df"]);
    assert.equal(records[3]!.kind === "conversation" && records[3]!.messages.map((m) => m.role).join(","), "user,assistant,user,assistant");
    assert.deepEqual(notes, { "trailing-user-turn-trimmed": 1 });
  });

  test("the nested message export gives the same conversations", async () => {
    const fromTrees = await runAdapter("oasst", TREES);
    const fromMessages = await runAdapter("oasst", MESSAGE_TREES);
    const strip = (records: KieloRecord[]) => records.map((r) => ({ ...r, meta: { ...r.meta, source: undefined } }));
    assert.deepEqual(strip(fromMessages.records), strip(fromTrees.records));
  });

  test("flat message rows: trees assembled by parent_id; review-failed follow-ups skipped; orphans noted", async () => {
    const { records, dropped, notes } = await runAdapter("oasst", FLAT_EN);
    assert.deepEqual(records.map(shortPath), [
      ["e0cf4fa2", "7d05acb7", "384ad8e0", "c8dc7c16"],
      ["f9318ddf", "9196e4c4", "39c7856a", "dc821502"],
      // 549322c7 (an unanswered user turn after 258a7e85) is trimmed.
      ["33f4b2f8", "498834be", "27b27ea3", "258a7e85"],
      // 30ba6625's only follow-up cb2051e7 has review_result false: the path ends at 30ba6625.
      ["7d6e488b", "6cd744e3", "3598ecc5", "30ba6625"],
    ]);
    assert.deepEqual(dropped, {});
    // Line 13 (9caf0013) belongs to a tree whose other messages are not in the file.
    assert.deepEqual(notes, { "orphan-message": 1, "trailing-user-turn-trimmed": 1 });
    assert.deepEqual(records[0]!.meta["source"], { file: "validation_en_sample.jsonl", row: 1 });
  });

  test("a deleted best reply is skipped: the next rank takes its place", async () => {
    const path = flatVariant("deleted.jsonl", (m) => {
      if (String(m["message_id"]).startsWith("7d05acb7")) m["deleted"] = true;
    });
    const { records } = await runAdapter("oasst", path);
    // Next best reply to e0cf4fa2 is 3880d924 (rank 1), which has no follow-up.
    assert.deepEqual(shortPath(records[0]!), ["e0cf4fa2", "3880d924"]);
  });

  test("review_result null (not reviewed) counts as not eligible", async () => {
    const path = flatVariant("unreviewed.jsonl", (m) => {
      if (String(m["message_id"]).startsWith("c8dc7c16")) m["review_result"] = null;
    });
    const { records } = await runAdapter("oasst", path);
    assert.deepEqual(shortPath(records[0]!), ["e0cf4fa2", "7d05acb7", "384ad8e0", "63b876e6"]);
  });

  test("without ranks, the earlier created_date wins; a missing rank is worse than any rank", async () => {
    const unranked = flatVariant("unranked.jsonl", (m) => {
      if (String(m["parent_id"]).startsWith("e0cf4fa2")) m["rank"] = null;
    });
    // Replies to e0cf4fa2 by date: 779035e6 (18:31), 3880d924 (18:50), 7d05acb7 (19:16); 779035e6 was answered.
    assert.deepEqual(shortPath((await runAdapter("oasst", unranked)).records[0]!).slice(0, 2), ["e0cf4fa2", "779035e6"]);
    const oneUnranked = flatVariant("one-unranked.jsonl", (m) => {
      if (String(m["message_id"]).startsWith("7d05acb7")) m["rank"] = null;
    });
    // 7d05acb7 loses its rank 0; 3880d924 (rank 1) now leads.
    assert.deepEqual(shortPath((await runAdapter("oasst", oneUnranked)).records[0]!), ["e0cf4fa2", "3880d924"]);
  });

  test("a deleted root drops the tree, counted", async () => {
    const path = flatVariant("root-deleted.jsonl", (m) => {
      if (m["parent_id"] === null && String(m["message_id"]).startsWith("f9318ddf")) m["deleted"] = true;
    });
    const { records, dropped } = await runAdapter("oasst", path);
    assert.equal(records.length, 3);
    assert.deepEqual(dropped, { "root-not-eligible": 1 });
  });

  test("a root with no eligible reply is dropped as no-assistant-reply", async () => {
    const path = flatVariant("no-reply.jsonl", (m) => {
      if (String(m["parent_id"]).startsWith("7d6e488b")) m["review_result"] = false;
    });
    const { dropped } = await runAdapter("oasst", path);
    assert.deepEqual(dropped, { "no-assistant-reply": 1 });
  });

  test("the aligned Finnish file: Finnish text by default, English with --lang en (text_en)", async () => {
    const fi = await runAdapter("oasst", FLAT_FI);
    assert.equal(fi.records[0]!.lang, "fi");
    assert.deepEqual(shortPath(fi.records[0]!), ["e0cf4fa2", "7d05acb7", "384ad8e0", "c8dc7c16"]);
    assert.equal(fi.records[0]!.kind === "conversation" && fi.records[0]!.messages[0]!.content, "Mitä mieltä olet ChatGPT:stä?");
    const en = await runAdapter("oasst", FLAT_FI, { lang: "en" });
    assert.equal(en.records[0]!.lang, "en");
    assert.equal(en.records[0]!.kind === "conversation" && en.records[0]!.messages[0]!.content, "What do you think about ChatGPT?");
  });

  test("an unknown role is an error naming the row and the nested field", async () => {
    const tree = JSON.parse(readFileSync(TREES, "utf8").split("\n")[0]!) as { prompt: { replies: { role: string }[] } };
    tree.prompt.replies[2]!.role = "moderator";
    const path = join(tmp.dir, "bad-role.jsonl");
    writeFileSync(path, `${JSON.stringify(tree)}\n`);
    await assert.rejects(runAdapter("oasst", path), /bad-role\.jsonl:1 \(field prompt\.replies\[2\]\.role\): unknown role "moderator"; expected "prompter" or "assistant"/);
  });
});

describe("oasst adapter: --pairs", () => {
  test("all ranked sibling pairs along the best path; better rank chosen", async () => {
    const { records, dropped } = await runAdapter("oasst", TREES, { pairs: true });
    const summary = records.map((r) => [String(r.meta["chosen_id"]).slice(0, 8), String(r.meta["rejected_id"]).slice(0, 8), r.kind === "preference" ? r.prompt.length : -1]);
    assert.deepEqual(summary.slice(0, 3), [
      ["fa783ef0", "03334b2a", 1],
      ["fa783ef0", "8f5fa95e", 1],
      ["03334b2a", "8f5fa95e", 1],
    ]);
    assert.deepEqual(records[0], {
      kind: "preference",
      id: "oasst-fa783ef0-4f4e-457d-b429-afd89edf8757-over-03334b2a-f315-4a0d-b9ff-ac94e017e266",
      lang: "en",
      prompt: [{ role: "user", content: "How can I find the best 401k plan for my needs?" }],
      chosen:
        "The first step is to research your options. You should look at different plans and compare them based on fees, investment options, and other features. Once you have narrowed down your choices, you can contact a financial advisor or review online resources such as reviews from industry experts or customer ratings. Finally, make sure to read through all of the terms and conditions associated with each plan before making a decision.",
      rejected:
        "The first step is to determine your financial goals. Once you have a clear idea of what you are trying to accomplish, it will be easier to decide which 401k plan is right for you. You should also research different plans and compare their features, fees, and investment options. Additionally, consider speaking with a financial advisor who can help you evaluate your options and make an informed decision.",
      meta: {
        source: { file: "en_tree_sample.jsonl", row: 1 },
        tree_id: "054e1df3-35e0-4bb8-a585-607dbdcd24e0",
        prompt_message_ids: ["054e1df3-35e0-4bb8-a585-607dbdcd24e0"],
        chosen_id: "fa783ef0-4f4e-457d-b429-afd89edf8757",
        rejected_id: "03334b2a-f315-4a0d-b9ff-ac94e017e266",
        chosen_rank: 0,
        rejected_rank: 1,
      },
    });
    // 4c40963f: 175a16ef (0) over f9b846e8 (1); d26fa28e: 40bdd64a (0) over f4c9cb3b (1), texts differ
    // by one word; 4fce6bce: at the root 73baf04a over 93308c5d, and at c303987a (prompt of 3 turns)
    // c04ff4df over 2fdde753.
    assert.deepEqual(summary.slice(3), [
      ["175a16ef", "f9b846e8", 1],
      ["40bdd64a", "f4c9cb3b", 1],
      ["73baf04a", "93308c5d", 1],
      ["c04ff4df", "2fdde753", 3],
    ]);
    assert.deepEqual(dropped, {});
  });

  test("flat rows: pairs only among eligible ranked replies", async () => {
    const { records } = await runAdapter("oasst", FLAT_EN, { pairs: true });
    const pairs = records.map((r) => `${String(r.meta["chosen_id"]).slice(0, 8)}>${String(r.meta["rejected_id"]).slice(0, 8)}`);
    assert.deepEqual(pairs, [
      "7d05acb7>3880d924", "7d05acb7>779035e6", "3880d924>779035e6", "c8dc7c16>63b876e6",
      "9196e4c4>c59a498a", "dc821502>934d5617",
      "498834be>808cb783", "258a7e85>64c9b55f",
      // 0040abc2 (deleted, unranked) takes part in no pair.
      "6cd744e3>558d99a2", "30ba6625>ddc35e56",
    ]);
  });
});
