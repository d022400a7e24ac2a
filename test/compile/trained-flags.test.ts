/**
 * Exact token ids and trained flags for short conversations, checked by hand against the token
 * strings (listed in the comments) of the real tokenizers.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileAndOpen, conversation, documentOf, writeRecords } from "./helpers.ts";
import type { Message } from "../../src/data/records.ts";

const chat: Message[] = [
  { role: "system", content: "Ole lyhyt." },
  { role: "user", content: "Hei!" },
  { role: "assistant", content: "Moi." },
  { role: "user", content: "Mitä?" },
  { role: "assistant", content: "Ei mitään." },
];

// Qwen3, its own template:
// <|im_start|> system \n O le Ġly hy t . <|im_end|> \n <|im_start|> user \n He i ! <|im_end|> \n
// <|im_start|> assistant \n | M oi . <|im_end|> \n | <|im_start|> user \n Mit ä ? <|im_end|> \n
// <|im_start|> assistant \n | <think> \n\n </think> \n\n E i Ġmit ään . <|im_end|> \n
const QWEN3_IDS = [
  151644, 8948, 198, 46, 273, 14528, 8503, 83, 13, 151645, 198, 151644, 872, 198, 1519, 72, 0, 151645, 198, 151644, 77091, 198,
  44, 6728, 13, 151645, 198, 151644, 872, 198, 54370, 2305, 30, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271, 36,
  72, 5451, 59346, 13, 151645, 198,
];
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const ones = (n: number): number[] => new Array<number>(n).fill(1);

test("Qwen3, policy assistant: both replies with <|im_end|>\\n trained; headers, prompts and the first token not", async () => {
  const data = await compileAndOpen(writeRecords([conversation("c1", chat)]), "qwen3", { policy: "assistant" });
  const doc = documentOf(data, 0);
  assert.deepEqual(doc.ids, QWEN3_IDS);
  assert.deepEqual(doc.trained, [...zeros(22), ...ones(5), ...zeros(11), ...ones(11)]);
  assert.equal(data.manifest.trained_tokens, 16);
  assert.equal(data.manifest.tokens, 49);
});

test("Qwen3, policy last-assistant: only the final reply", async () => {
  const data = await compileAndOpen(writeRecords([conversation("c1", chat)]), "qwen3", { policy: "last-assistant" });
  assert.deepEqual(documentOf(data, 0).trained, [...zeros(38), ...ones(11)]);
});

test("policy all: every token but the first (no prompt masking)", async () => {
  const data = await compileAndOpen(writeRecords([conversation("c1", chat)]), "qwen3", { policy: "all" });
  const doc = documentOf(data, 0);
  assert.deepEqual(doc.ids, QWEN3_IDS);
  assert.deepEqual(doc.trained, [0, ...ones(48)]);
});

test("Llama-2 built-in on the tiny model: BOS masked, the reply's ' </s>' (EOS id 2) trained", async () => {
  const data = await compileAndOpen(
    writeRecords([conversation("c1", chat.slice(0, 3))]),
    "stories",
    { policy: "assistant", template: "llama-2" },
  );
  const doc = documentOf(data, 0);
  // <s>[INST] <<SYS>>\nOle lyhyt.\n<</SYS>>\n\nHei! [/INST] | ▁M o i . ▁ </s>
  assert.equal(doc.ids[0], 1);
  assert.deepEqual(doc.ids.slice(-6), [392, 414, 417, 426, 410, 2]);
  assert.deepEqual(doc.trained, [...zeros(doc.ids.length - 6), ...ones(6)]);
  assert.equal(data.manifest.tokenizer.eos_token_id, 2);
  assert.equal(data.manifest.tokenizer.bos_token_id, 1);
});

test("qa-context chosen by the record's meta.template (no --template, model without a template)", async () => {
  const records = writeRecords([
    conversation(
      "qa-1",
      [
        { role: "system", content: "Answer the question based on the context below." },
        { role: "user", content: "[context]: Tim has a dog. [/context]\n[question]  What does Tim have? [/question]" },
        { role: "assistant", content: "A dog." },
      ],
      { template: "qa-context" },
    ),
  ]);
  const data = await compileAndOpen(records, "stories", { policy: "assistant" });
  assert.equal(data.manifest.template.name, "qa-context");
  const doc = documentOf(data, 0);
  // "<s>" renders as BOS (1) and "</s>" as EOS (2): no doubled BOS, since the text is tokenised without adding special tokens.
  assert.equal(doc.ids[0], 1);
  assert.notEqual(doc.ids[1], 1);
  // ... [/INST] | ▁ A ▁do g . </s>
  assert.deepEqual(doc.ids.slice(-6), [410, 447, 400, 428, 426, 2]);
  assert.deepEqual(doc.trained, [...zeros(doc.ids.length - 6), ...ones(6)]);
});

test("an explicit --template overrides the record's meta.template", async () => {
  const records = writeRecords([conversation("qa-1", [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }], { template: "qa-context" })]);
  const data = await compileAndOpen(records, "stories", { template: "chatml" });
  assert.equal(data.manifest.template.name, "chatml");
});

test("records naming different templates: manifest lists them per record", async () => {
  const records = writeRecords([
    conversation("a", [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }], { template: "qa-context" }),
    conversation("b", [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }], { template: "chatml" }),
    conversation("c", [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }], { template: "chatml" }),
  ]);
  const data = await compileAndOpen(records, "stories");
  assert.equal(data.manifest.template.name, "per-record");
  assert.deepEqual(
    data.manifest.template.templates?.map((t) => [t.name, t.rows]),
    [
      ["chatml", 2],
      ["qa-context", 1],
    ],
  );
});

test("a conversation without an assistant reply has no trained token under policy assistant: dropped and counted", async () => {
  const records = writeRecords([
    conversation("no-reply", [{ role: "user", content: "Hei!" }]),
    conversation("ok", chat.slice(1, 3)),
  ]);
  const data = await compileAndOpen(records, "qwen3", { policy: "assistant" });
  assert.equal(data.manifest.rows_in, 2);
  assert.equal(data.manifest.rows_out, 1);
  assert.deepEqual(data.manifest.dropped, { "no-trained-tokens": 1 });
  assert.equal(data.rows()[0]!.id, "ok");
});

test("a token is trained when it starts inside the reply: Mistral tokenises ChatML text, '.<' straddles the end", async () => {
  const data = await compileAndOpen(writeRecords([conversation("c", chat.slice(1, 3))]), "mistral", { policy: "assistant", template: "chatml" });
  const doc = documentOf(data, 0);
  // ... ass istant <0x0A> | M oi .< | im _ end | > <0x0A>
  assert.deepEqual(doc.ids.slice(-10), [28755, 3950, 26364, 28766, 321, 28730, 416, 28766, 28767, 13]);
  assert.deepEqual(doc.trained.slice(-11), [0, ...ones(10)]);
});
