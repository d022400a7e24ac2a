import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { fixture, runAdapter, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);
const write = tmp.write;

describe("hh-rlhf adapter", () => {
  const HH = fixture("hh-rlhf/helpful_base_test_sample.jsonl.gz");

  test("shared turns become the prompt; the final assistant turns are chosen/rejected", async () => {
    const { records } = await runAdapter("hh-rlhf", HH);
    assert.equal(records.length, 2);
    assert.deepEqual(records[0], {
      kind: "preference",
      id: "hh-rlhf-1",
      lang: "en",
      prompt: [{ role: "user", content: "Do you know why turkeys became the official food of thanksgiving?" }],
      chosen:
        "To be honest, I don’t know anything about that. I know that I’m meant to know a lot about history and current events, but I haven’t been programmed with those particular facts, sorry.",
      rejected:
        "I know that the American Indians were the first to celebrate the first thanksgiving, and the first European settlers came to New England in the early 1600s, and it is likely that they celebrated the first thanksgiving in the late 1600s.  However, it is also likely that some European settlers on the continent celebrated the first thanksgiving in the mid-1500s.  A lot of people think that the main factor in thanksgiving is that the settlers in the new world were thankful for finding a new land, and that turkey was their traditional food.  Another factor that has often been thought to be important is the Pilgrims’ relationship with the Native Americans, and the feast may be one way of trying to show them respect.  I can’t tell you the definitive answer, but maybe this will help you figure it out?",
      meta: { source: { file: "helpful_base_test_sample.jsonl.gz", row: 1 } },
    });
    const second = records[1]!;
    assert.ok(second.kind === "preference");
    assert.deepEqual(second.prompt.map((m) => m.role), ["user", "assistant", "user", "assistant", "user"]);
    assert.equal(second.prompt[2]!.content, "I am in Oregon.");
    assert.equal(second.prompt[4]!.content, "Great. What are some common species then?");
    assert.ok(second.chosen.startsWith("About 150 species of butterflies live in Oregon"));
    assert.ok(second.rejected.startsWith("Are you interested in just the common butterflies?"));
  });

  test("rows that do not fit are dropped and counted, by reason", async () => {
    // Fixture lines 3–8 are helpful-base test rows 121, 169, 356, 568, 722 and 741: an empty final
    // reply (121, 741), rejected with an extra assistant turn (169, 568), two assistant turns in a
    // row inside the prompt (356), chosen identical to rejected (722).
    const { dropped } = await runAdapter("hh-rlhf", HH);
    assert.deepEqual(dropped, { "empty-reply": 2, identical: 1, "no-shared-prefix": 2, "non-alternating-turns": 1 });
  });

  test("text that is not a Human/Assistant transcript is an error naming the field", async () => {
    const path = write("plain.jsonl", '{"chosen": "Just an answer.", "rejected": "\\n\\nHuman: Hi\\n\\nAssistant: Hello"}\n');
    await assert.rejects(runAdapter("hh-rlhf", path), /plain\.jsonl:1 \(field chosen\): expected a transcript of/);
  });
});

describe("helpsteer adapter", () => {
  const HS = fixture("helpsteer/helpsteer2_sample.jsonl");

  test("one pair per prompt, the more helpful response chosen; ties and lone responses dropped", async () => {
    const { records, dropped } = await runAdapter("helpsteer", HS);
    assert.deepEqual(dropped, { "helpfulness-tie": 1, "single-response": 1 });
    assert.deepEqual(records[0], {
      kind: "preference",
      id: "helpsteer-1",
      lang: "en",
      prompt: [{ role: "user", content: "What is the boiling point of water at the top of Mount Everest?" }],
      chosen:
        "At the summit of Mount Everest (about 8,849 m), air pressure is roughly a third of sea-level pressure, so water boils at about 70 °C (158 °F) instead of 100 °C.",
      rejected: "Water always boils at 100 degrees Celsius.",
      meta: {
        source: { file: "helpsteer2_sample.jsonl", row: 1 },
        rows: [1, 2],
        chosen_scores: { helpfulness: 4, correctness: 4, coherence: 4, complexity: 2, verbosity: 1 },
        rejected_scores: { helpfulness: 0, correctness: 0, coherence: 3, complexity: 1, verbosity: 0 },
      },
    });
  });

  test("multi-turn prompts are split at the <extra_id_1> markers", async () => {
    const { records } = await runAdapter("helpsteer", HS);
    assert.deepEqual(records[1]!.kind === "preference" && records[1]!.prompt, [
      { role: "user", content: "Give me a name for a pet turtle." },
      { role: "assistant", content: 'How about "Shelly"?' },
      { role: "user", content: "Something less common, please." },
    ]);
    assert.equal(records[1]!.kind === "preference" && records[1]!.chosen, 'Try "Bartholomew": it is unusual, and a slow, dignified name suits a turtle.');
  });

  test("CSV ratings arrive as text and are read as numbers; a bad rating names row and field", async () => {
    const csv = write("hs.csv", "prompt,response,helpfulness\nHi?,Hello!,3\nHi?,Go away.,0\n");
    const { records } = await runAdapter("helpsteer", csv);
    assert.deepEqual(records[0]!.kind === "preference" && [records[0]!.chosen, records[0]!.rejected], ["Hello!", "Go away."]);
    const bad = write("bad.csv", "prompt,response,helpfulness\nHi?,Hello!,3\nHi?,Go away.,low\n");
    await assert.rejects(runAdapter("helpsteer", bad), /bad\.csv:3 \(field helpfulness\): expected a number, found "low"/);
  });
});

describe("pairs adapter", () => {
  test("UltraFeedback strings: prompt → user turn; scores kept; identical and empty replies counted", async () => {
    const { records, dropped } = await runAdapter("pairs", fixture("pairs/ultrafeedback_train_sample.jsonl"));
    assert.deepEqual(dropped, { "empty-reply": 1, identical: 2 });
    assert.deepEqual(records.map((r) => r.id), ["pairs-1", "pairs-2", "pairs-3", "pairs-4"]);
    const second = records[1]!;
    assert.deepEqual(second, {
      kind: "preference",
      id: "pairs-2",
      prompt: [
        {
          role: "user",
          content:
            "The eleventh season of the American television sitcom The Big Bang Theory premiered on CBS on Monday, September 25, 2017. It returned to its regular Thursday time slot on November 2, 2017, after Thursday Night Football on CBS ended.\n\nAnswer this question based on the passage: when is the big bang theory season 11 coming out? Okie... think carefully first, then make a decision:",
        },
      ],
      chosen: "The Big Bang Theory season 11 has already been released. It premiered on September 25, 2017, on CBS. Confidence: 100%",
      rejected: "The Big Bang Theory Season 11 premiered on Monday, September 25, 2017.\nConfidence: 100%",
      meta: { source: { file: "ultrafeedback_train_sample.jsonl", row: 2 }, source_index: 31955, metadata: { score_chosen: 8.5, score_rejected: 8 } },
    });
  });

  test("message-list layouts (trl-lib, HuggingFaceH4) give the same pairs as the strings", async () => {
    const strings = await runAdapter("pairs", fixture("pairs/ultrafeedback_train_sample.jsonl"));
    const shape = (r: (typeof strings.records)[number]) => (r.kind === "preference" ? [r.prompt, r.chosen, r.rejected] : []);
    for (const layout of ["trl", "h4"]) {
      const { records } = await runAdapter("pairs", fixture(`pairs/ultrafeedback_${layout}_layout.jsonl`));
      assert.deepEqual(records.map(shape), strings.records.slice(0, 3).map(shape), layout);
    }
    const trl = await runAdapter("pairs", fixture("pairs/ultrafeedback_trl_layout.jsonl"));
    assert.deepEqual(trl.records[0]!.meta, { source: { file: "ultrafeedback_trl_layout.jsonl", row: 1 }, score_chosen: 9, score_rejected: 8 });
  });

  test("multi-turn lists: the shared turns become the prompt", async () => {
    const path = write(
      "multi.jsonl",
      JSON.stringify({
        chosen: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }, { role: "user", content: "2+2?" }, { role: "assistant", content: "4" }],
        rejected: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }, { role: "user", content: "2+2?" }, { role: "assistant", content: "5" }],
      }) + "\n",
    );
    const { records } = await runAdapter("pairs", path);
    assert.deepEqual(records[0]!.kind === "preference" && [records[0]!.prompt.length, records[0]!.chosen, records[0]!.rejected], [3, "4", "5"]);
  });

  test("lists that differ before their last turn, or a missing prompt with string replies, are errors", async () => {
    const diverging = write(
      "diverging.jsonl",
      JSON.stringify({
        chosen: [{ role: "user", content: "A" }, { role: "assistant", content: "B" }],
        rejected: [{ role: "user", content: "Other" }, { role: "assistant", content: "C" }],
      }) + "\n",
    );
    await assert.rejects(runAdapter("pairs", diverging), /diverging\.jsonl:1 \(field chosen\): after the turns chosen and rejected share, each must have exactly one assistant reply/);
    const noPrompt = write("no-prompt.jsonl", '{"chosen": "yes", "rejected": "no"}\n');
    await assert.rejects(runAdapter("pairs", noPrompt), /no-prompt\.jsonl:1 \(field prompt\): the prompt must end with a user turn/);
    const badRole = write("bad-role.jsonl", '{"prompt": [{"role": "narrator", "content": "Once"}], "chosen": "a", "rejected": "b"}\n');
    await assert.rejects(runAdapter("pairs", badRole), /bad-role\.jsonl:1 \(field prompt\[0\]\.role\): unknown role "narrator"/);
  });
});
