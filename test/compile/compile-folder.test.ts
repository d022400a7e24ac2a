import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { compileFolder } from "../../src/compile/compile-folder.ts";
import { documentLengths, openCompiled, sequenceLengths } from "../../src/compile/read-compiled.ts";
import { InputError, KieloError } from "../../src/util/errors.ts";
import { compileAndOpen, conversation, defaults, documentOf, fixtureRecords, fixtures, tempDir, tokenizer, writeRecords } from "./helpers.ts";

const dolly = join(fixtures, "dolly-en-fi.jsonl");
const oasst = join(fixtures, "oasst-fi-threads.jsonl");
const pairs = join(fixtures, "ultrafeedback-pairs.jsonl");

test("the folder holds exactly the documented files, sizes agree with the manifest, invariants hold", async () => {
  const data = await compileAndOpen(oasst, "qwen3", { policy: "assistant" });
  assert.deepEqual(readdirSync(data.dir).sort(), ["docs.bin", "manifest.json", "rows.jsonl", "tokens.bin", "trained.bin"]);
  const m = data.manifest;
  assert.equal(m.kind, "sft");
  assert.equal(m.rows_in, 6);
  assert.equal(m.documents, 6);
  assert.equal(m.sequences, 6);
  assert.equal(readFileSync(join(data.dir, "tokens.bin")).byteLength, 4 * m.tokens);
  assert.equal(readFileSync(join(data.dir, "docs.bin")).byteLength, 8 * 7);
  assert.equal(data.trained.reduce((a, b) => a + b, 0), m.trained_tokens);
  assert.equal(m.tokenizer.sha256, tokenizer("qwen3").sha256);
  assert.equal(m.template.name, "model");
  for (let d = 0; d < data.documentCount; d++) {
    const { start } = data.documentRange(d);
    assert.equal(data.trained[start], 0, `first token of document ${d} is not trained`);
  }
  // Every reply ends with <|im_end|>\n, and both tokens are trained (the model learns to stop).
  for (let d = 0; d < data.documentCount; d++) {
    const { ids, trained } = documentOf(data, d);
    assert.deepEqual(ids.slice(-2), [151645, 198]);
    assert.deepEqual(trained.slice(-2), [1, 1]);
    // Every <|im_end|> that closes an assistant turn is trained; those closing system/user turns are not.
    const ends = ids.flatMap((id, i) => (id === 151645 ? [trained[i]] : []));
    assert.deepEqual(ends, [0, 0, 1, 0, 1]);
  }
  const rows = data.rows();
  assert.deepEqual(Object.keys(rows[0]!), ["id", "source", "tokens", "trained", "truncated"]);
  assert.deepEqual(rows.map((r) => r.source), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(documentLengths(data)), rows.map((r) => r.tokens));
});

test("packing never mixes documents: each packed document equals the unpacked one, packs fit, order is by pack", async () => {
  const plain = await compileAndOpen(dolly, "llama3", { policy: "assistant" });
  const packed = await compileAndOpen(dolly, "llama3", { policy: "assistant", pack: 512 });
  assert.deepEqual(packed.manifest.packing, { seq_len: 512, algorithm: "best-fit-decreasing" });
  assert.equal(packed.manifest.max_length, 512);
  assert.ok(packed.packs !== null);
  const tooLong = Array.from(documentLengths(plain)).filter((n) => n > 512).length;
  assert.equal(packed.manifest.dropped["too-long"] ?? 0, tooLong);
  assert.equal(packed.documentCount, plain.documentCount - tooLong);

  const plainById = new Map(plain.rows().map((row, d) => [row.id, documentOf(plain, d)]));
  packed.rows().forEach((row, d) => assert.deepEqual(documentOf(packed, d), plainById.get(row.id), `document ${row.id}`));

  const packs = Array.from(packed.packs!, Number);
  assert.equal(packs[0], 0);
  assert.equal(packs.at(-1), packed.documentCount);
  assert.equal(packed.manifest.sequences, packs.length - 1);
  for (const [p, length] of sequenceLengths(packed).entries()) {
    assert.ok(length <= 512, `pack ${p} has ${length} tokens`);
    assert.ok(packs[p + 1]! > packs[p]!, `pack ${p} is not empty`);
  }
  const total = Array.from(sequenceLengths(packed)).reduce((a, b) => a + b, 0);
  assert.equal(total, packed.manifest.tokens);
  assert.ok(packed.manifest.sequences < packed.documentCount / 1.5, `${packed.manifest.sequences} packs for ${packed.documentCount} documents`);
});

test("truncation: drop (default), keep-start, keep-end; the first kept token is never trained", async () => {
  const records = writeRecords([
    conversation("short", [{ role: "user", content: "Hei!" }, { role: "assistant", content: "Moi." }]),
    conversation("long", [{ role: "user", content: "Kerro jotain." }, { role: "assistant", content: "Tämä on pitkä vastaus, jossa on monta sanaa ja vielä enemmän tavuja." }]),
  ]);
  const full = await compileAndOpen(records, "qwen3", { policy: "assistant" });
  const longIds = documentOf(full, 1).ids;
  const limit = longIds.length - 5;
  assert.ok(documentOf(full, 0).ids.length <= limit);

  const dropped = await compileAndOpen(records, "qwen3", { policy: "assistant", maxLength: limit });
  assert.deepEqual(dropped.manifest.dropped, { "too-long": 1 });
  assert.equal(dropped.manifest.truncated, 0);
  assert.deepEqual(dropped.rows().map((r) => r.id), ["short"]);

  const start = await compileAndOpen(records, "qwen3", { policy: "assistant", maxLength: limit, truncation: "keep-start" });
  assert.equal(start.manifest.truncated, 1);
  assert.deepEqual(documentOf(start, 1).ids, longIds.slice(0, limit));
  assert.equal(start.rows()[1]!.truncated, true);
  assert.equal(start.rows()[0]!.truncated, false);
  assert.deepEqual(documentOf(start, 1).trained, documentOf(full, 1).trained.slice(0, limit));

  const end = await compileAndOpen(records, "qwen3", { policy: "all", maxLength: limit, truncation: "keep-end" });
  const kept = documentOf(end, 1);
  assert.deepEqual(kept.ids, longIds.slice(-limit));
  assert.equal(kept.trained[0], 0);
  assert.ok(kept.trained.slice(1).every((t) => t === 1));

  // keep-start that cuts off the whole reply leaves nothing trained: dropped and counted; with
  // every row dropped, nothing is written and the error says why.
  const out = join(tempDir(), "compiled");
  await assert.rejects(
    compileFolder(records, tokenizer("qwen3"), out, { ...defaults, policy: "assistant", maxLength: 8, truncation: "keep-start" }),
    (error: unknown) => error instanceof KieloError && /all 2 rows were dropped \(no-trained-tokens 2\); nothing written/.test(error.message),
  );
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dirname(out)), []);
});

test("preference pairs: documents in twos, prompt masked, reply (with <|im_end|>\\n) trained, prompt tokens a prefix", async () => {
  const data = await compileAndOpen(pairs, "qwen3");
  const m = data.manifest;
  assert.equal(m.kind, "preference");
  assert.equal(m.policy, "completion");
  assert.equal(m.rows_in, 12);
  assert.equal(m.rows_out, 12);
  assert.equal(m.documents, 24);
  assert.equal(m.sequences, 12);
  const records = fixtureRecords("ultrafeedback-pairs.jsonl");
  const tok = tokenizer("qwen3");
  for (let k = 0; k < 12; k++) {
    const record = records[k]!;
    assert.equal(record.kind, "preference");
    if (record.kind !== "preference") continue;
    const prompt = `<|im_start|>user\n${record.prompt[0]!.content}<|im_end|>\n<|im_start|>assistant\n`;
    const promptIds = (await tok.tokenizer.encode(prompt, null, { addSpecialTokens: false })).getIds();
    for (const [part, d] of [["chosen", 2 * k], ["rejected", 2 * k + 1]] as const) {
      const row = data.rows()[d]!;
      assert.equal(row.id, record.id);
      assert.equal(row.part, part);
      const { ids, trained } = documentOf(data, d);
      assert.deepEqual(ids.slice(0, promptIds.length), promptIds);
      assert.deepEqual(trained, [...new Array<number>(promptIds.length).fill(0), ...new Array<number>(ids.length - promptIds.length).fill(1)]);
      assert.deepEqual(ids.slice(-2), [151645, 198]);
    }
  }
});

test("pairs whose rendered prompt is not a prefix (as text, or as tokens) are dropped and counted", async () => {
  const dir = tempDir();
  // As text: the generation prompt says "bot", replies are rendered as "assistant".
  const textTemplate = join(dir, "text.jinja");
  writeFileSync(
    textTemplate,
    "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'bot:' }}{% endif %}",
  );
  // As tokens: the prompt ends in a space that Qwen3's tokenizer merges with the reply ("ĠA").
  const tokenTemplate = join(dir, "token.jinja");
  writeFileSync(
    tokenTemplate,
    "{% for m in messages %}{% if m['role'] == 'user' %}{{ 'Q: ' + m['content'] + ' A:' }}{% else %}{{ ' ' + m['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ ' ' }}{% endif %}",
  );
  const records = writeRecords(
    [{ kind: "preference", id: "p1", prompt: [{ role: "user", content: "Once" }], chosen: "A cat.", rejected: "A dog.", meta: {} }],
    dir,
  );
  for (const template of [textTemplate, tokenTemplate]) {
    await assert.rejects(
      compileAndOpen(records, "qwen3", { template: `file:${template}` }),
      (error: unknown) => error instanceof KieloError && /all 1 rows were dropped \(prompt-not-prefix 1\)/.test(error.message),
    );
  }
});

test("a template that fails on a row names the file, line, record id and the Jinja error; nothing is written", async () => {
  const out = join(tempDir(), "compiled");
  await assert.rejects(
    compileFolder(oasst, tokenizer("mistral"), out, { ...defaults, template: `file:${join(fixtures, "mistral-instruct.jinja")}` }),
    (error: unknown) =>
      error instanceof InputError &&
      error.message.startsWith(`${oasst}:1 (field messages): record oasst-fi-e0cf4fa2`) &&
      error.message.includes("Conversation roles must alternate user/assistant/user/assistant/..."),
  );
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dirname(out)), [], "no temporary folder is left behind");
});

test("bad records and bad option combinations are clear errors", async () => {
  const dir = tempDir();
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, `${JSON.stringify(conversation("a", [{ role: "user", content: "x" }]))}\n{"kind":"conversation","id":"b","messages":[{"role":"robot","content":"x"}]}\n`);
  await assert.rejects(compileFolder(bad, tokenizer("stories"), join(dir, "o1"), { ...defaults, template: "chatml" }), (e: unknown) => e instanceof InputError && /bad\.jsonl:2 \(field messages\[0\]\.role\)/.test(e.message));

  const mixed = writeRecords(
    [conversation("a", [{ role: "user", content: "x" }, { role: "assistant", content: "y" }]), { kind: "preference", id: "p", prompt: [{ role: "user", content: "x" }], chosen: "a", rejected: "b", meta: {} }],
    tempDir(),
  );
  await assert.rejects(compileFolder(mixed, tokenizer("stories"), join(dir, "o2"), { ...defaults, template: "chatml" }), /:2 \(field kind\): record p is a preference but earlier records are conversations/);
  await assert.rejects(compileFolder(pairs, tokenizer("qwen3"), join(dir, "o3"), { ...defaults, pack: 1024 }), /preference pairs, which are never packed/);
  await assert.rejects(compileFolder(dolly, tokenizer("qwen3"), join(dir, "o4"), { ...defaults, pack: 512, maxLength: 1024 }), /--max-length 1024 is larger than --pack 512/);
  await assert.rejects(compileFolder(dolly, tokenizer("stories"), join(dir, "o5"), defaults), (e: unknown) => e instanceof InputError && /dolly-en-fi\.jsonl:1: record dolly-0-en: no chat template/.test(e.message));
  const unknown = writeRecords([conversation("u", [{ role: "user", content: "x" }], { template: "alpaca" })], tempDir());
  await assert.rejects(compileFolder(unknown, tokenizer("qwen3"), join(dir, "o6"), defaults), /\(field meta\.template\): record u: meta\.template must name a built-in template/);
});

test("an output folder holding a different compile is refused without --force; the same inputs are up to date", async () => {
  const out = join(tempDir(), "compiled");
  const first = await compileFolder(oasst, tokenizer("qwen3"), out, { ...defaults, policy: "assistant" });
  assert.equal(first.status, "written");
  const before = readFileSync(join(out, "manifest.json"), "utf8");

  const again = await compileFolder(oasst, tokenizer("qwen3"), out, { ...defaults, policy: "assistant" });
  assert.equal(again.status, "up-to-date");
  assert.equal(readFileSync(join(out, "manifest.json"), "utf8"), before);

  await assert.rejects(
    compileFolder(oasst, tokenizer("qwen3"), out, { ...defaults, policy: "all" }),
    (e: unknown) => e instanceof KieloError && /already holds a different compile \(it differs in: policy\)/.test(e.message) && /--force/.test(e.hint ?? ""),
  );
  await assert.rejects(compileFolder(dolly, tokenizer("qwen3"), out, { ...defaults, maxLength: 300 }), /differs in: source data, max length/);
  assert.equal(readFileSync(join(out, "manifest.json"), "utf8"), before, "a refused compile leaves the old one untouched");

  const forced = await compileFolder(oasst, tokenizer("qwen3"), out, { ...defaults, policy: "all", force: true });
  assert.equal(forced.status, "written");
  assert.equal(openCompiled(out).manifest.policy, "all");

  // A failing forced recompile keeps the previous complete output.
  await assert.rejects(compileFolder(oasst, tokenizer("mistral"), out, { ...defaults, template: `file:${join(fixtures, "mistral-instruct.jinja")}`, force: true }));
  assert.equal(openCompiled(out).manifest.policy, "all");
  assert.deepEqual(readdirSync(dirname(out)), ["compiled"]);
});

test("a folder that is not a compile is never replaced, even with --force", async () => {
  const out = join(tempDir(), "mine");
  mkdirSync(out);
  writeFileSync(join(out, "notes.txt"), "precious");
  await assert.rejects(compileFolder(oasst, tokenizer("qwen3"), out, { ...defaults, force: true }), /is not a kielo compiled-data folder/);
  assert.equal(readFileSync(join(out, "notes.txt"), "utf8"), "precious");
});
