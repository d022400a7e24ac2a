import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fixture, runAdapter, tempDir } from "./helpers.ts";

const DOLLY = fixture("dolly/dolly_en_fi_first8.jsonl");
const VIRGIN_CONTEXT =
  "Virgin Australia, the trading name of Virgin Australia Airlines Pty Ltd, is an Australian-based airline. It is the largest airline by fleet size to use the Virgin brand. It commenced services on 31 August 2000 as Virgin Blue, with two aircraft on a single route.[3] It suddenly found itself as a major airline in Australia's domestic market after the collapse of Ansett Australia in September 2001. The airline has since grown to directly serve 32 cities in Australia, from hubs in Brisbane, Melbourne and Sydney.[4]";

const tmp = tempDir();
after(tmp.cleanup);

describe("dolly adapter", () => {
  test("instruction, then the context after a blank line; the response as the assistant turn", async () => {
    const { records, dropped } = await runAdapter("dolly", DOLLY);
    assert.equal(records.length, 8);
    assert.deepEqual(dropped, {});
    assert.deepEqual(records[0], {
      kind: "conversation",
      id: "dolly:0",
      messages: [
        { role: "user", content: `When did Virgin Australia start operating?\n\n${VIRGIN_CONTEXT}` },
        { role: "assistant", content: "Virgin Australia commenced services on 31 August 2000 as Virgin Blue, with two aircraft on a single route." },
      ],
      meta: { source: { file: "dolly_en_fi_first8.jsonl", row: 1 }, has_context: true },
    });
    // Empty context: the instruction alone.
    assert.deepEqual(records[1]!.kind === "conversation" && records[1]!.messages, [
      { role: "user", content: "Which is a species of fish? Tope or Rope" },
      { role: "assistant", content: "Tope" },
    ]);
  });

  test("--lang fi picks the Finnish columns and labels the records", async () => {
    const { records } = await runAdapter("dolly", DOLLY, { lang: "fi" });
    const second = records[2]!;
    assert.equal(second.lang, "fi");
    assert.equal(second.id, "dolly:2");
    assert.deepEqual(second.kind === "conversation" && second.messages, [
      { role: "user", content: "Miksi kamelit voivat selviytyä pitkään ilman vettä?" },
      { role: "assistant", content: "Kamelit käyttävät kintereissään olevaa rasvaa pitääkseen ne täynnä energiaa ja nestettä pitkiä aikoja." },
    ]);
    const first = records[0]!;
    assert.ok(first.kind === "conversation" && first.messages[0]!.content.startsWith("Milloin Virgin Australia aloitti toimintansa?\n\nVirgin Australia, joka on"));
  });

  test("--lang en uses the plain columns (there are no _en columns)", async () => {
    const { records } = await runAdapter("dolly", DOLLY, { lang: "en" });
    assert.equal(records[1]!.lang, "en");
    assert.ok(records[1]!.kind === "conversation" && records[1]!.messages[0]!.content === "Which is a species of fish? Tope or Rope");
  });

  test("--column maps other datasets onto dolly's fields; --id-prefix", async () => {
    const path = join(tmp.dir, "qa.jsonl");
    writeFileSync(path, '{"question": "Mikä on Suomen pääkaupunki?", "answer": "Helsinki."}\n');
    const { records } = await runAdapter("dolly", path, { columns: { instruction: "question", response: "answer" }, idPrefix: "lima", lang: "fi" });
    assert.deepEqual(records[0], {
      kind: "conversation",
      id: "lima-dolly-1",
      lang: "fi",
      messages: [
        { role: "user", content: "Mikä on Suomen pääkaupunki?" },
        { role: "assistant", content: "Helsinki." },
      ],
      meta: { source: { file: "qa.jsonl", row: 1 }, has_context: false },
    });
  });

  test("a missing or empty field is an error naming file:row and field", async () => {
    const path = join(tmp.dir, "broken.jsonl");
    writeFileSync(path, '{"instruction": "Say hi", "response": "Hi"}\n{"instruction": "Say bye", "response": "   "}\n');
    await assert.rejects(runAdapter("dolly", path), /broken\.jsonl:2 \(field response\): is empty/);
    writeFileSync(path, '{"instruction": "Say hi", "answer": "Hi"}\n');
    await assert.rejects(runAdapter("dolly", path), /broken\.jsonl:1 \(field response\): missing; the row has: instruction, answer/);
    writeFileSync(path, '{"instruction": ["Say hi"], "response": "Hi"}\n');
    await assert.rejects(runAdapter("dolly", path), /broken\.jsonl:1 \(field instruction\): expected text, found an array/);
  });
});

describe("qa-context adapter", () => {
  const CSV = fixture("qa-context/qa_hi_en.csv");

  test("the notebook's prompt format, with the context part and without it", async () => {
    const { records } = await runAdapter("qa-context", CSV, { lang: "hi" });
    assert.equal(records.length, 4);
    assert.deepEqual(records[0], {
      kind: "conversation",
      id: "qa-context-2",
      lang: "hi",
      messages: [
        { role: "system", content: "Answer the question based on the context below." },
        {
          role: "user",
          content:
            "[context]: नई दिल्ली भारत की राजधानी है और यह दिल्ली राष्ट्रीय राजधानी क्षेत्र का हिस्सा है। [/context]\n[question]  भारत की राजधानी क्या है? [/question]",
        },
        { role: "assistant", content: "भारत की राजधानी नई दिल्ली है।" },
      ],
      meta: { source: { file: "qa_hi_en.csv", row: 2 }, template: "qa-context" },
    });
    // Empty context: no [context] part at all.
    assert.deepEqual(records[2]!.kind === "conversation" && records[2]!.messages[1], {
      role: "user",
      content: "[question]  ताजमहल किसने बनवाया था? [/question]",
    });
    // A context spanning lines is kept whole.
    assert.equal(
      records[3]!.kind === "conversation" && records[3]!.messages[1]!.content,
      "[context]: The Constituent Assembly adopted the Constitution of India on 26 November 1949.\nIt came into effect on 26 January 1950, which is celebrated as Republic Day. [/context]\n[question]  When was the Indian Constitution adopted? [/question]",
    );
  });

  test("column names are configurable", async () => {
    const path = join(tmp.dir, "renamed.csv");
    writeFileSync(path, "q,passage,a\nWho wrote Gitanjali?,,Rabindranath Tagore.\n");
    const { records } = await runAdapter("qa-context", path, { columns: { question: "q", context: "passage", answer: "a" } });
    assert.deepEqual(records[0]!.kind === "conversation" && records[0]!.messages.slice(1), [
      { role: "user", content: "[question]  Who wrote Gitanjali? [/question]" },
      { role: "assistant", content: "Rabindranath Tagore." },
    ]);
  });

  test("an empty answer is an error with the CSV row", async () => {
    const path = join(tmp.dir, "empty.csv");
    writeFileSync(path, "question,context,answer\nWho?,,Someone.\nWhat?,,\n");
    await assert.rejects(runAdapter("qa-context", path), /empty\.csv:3 \(field answer\): is empty/);
  });
});
