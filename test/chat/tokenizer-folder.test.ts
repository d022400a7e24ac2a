import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";
import { KieloError } from "../../src/util/errors.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const qwen3 = join(root, "fixtures/tokenizers/qwen3");
const mistral = join(root, "fixtures/tokenizers/mistral-7b");

test("loads a gzip-compressed tokenizer.json: hash of the decompressed bytes, special tokens, chat template", () => {
  const t = loadTokenizer(qwen3);
  // sha256 of `gunzip -c tokenizer.json.gz`, computed with sha256sum.
  assert.equal(t.sha256, "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4");
  assert.equal(t.vocabSize, 151669);
  assert.deepEqual(t.special.eos_token, { token: "<|im_end|>", id: 151645 });
  assert.deepEqual(t.special.pad_token, { token: "<|endoftext|>", id: 151643 });
  assert.equal(t.special.bos_token, null);
  assert.equal(t.special.unk_token, null);
  assert.match(t.chatTemplate ?? "", /<\|im_start\|>/);
});

test("a plain tokenizer.json, and a config without a chat template", () => {
  const t = loadTokenizer(mistral);
  assert.equal(t.sha256, "fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc");
  assert.deepEqual(t.special.bos_token, { token: "<s>", id: 1 });
  assert.deepEqual(t.special.eos_token, { token: "</s>", id: 2 });
  assert.deepEqual(t.special.unk_token, { token: "<unk>", id: 0 });
  assert.equal(t.chatTemplate, undefined);
});

test("special tokens in the AddedToken object form, and the list form of chat_template", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-tok-"));
  copyFileSync(join(mistral, "tokenizer.json"), join(dir, "tokenizer.json"));
  const config = JSON.parse(readFileSync(join(mistral, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  config["eos_token"] = { content: "</s>", lstrip: false, normalized: false, rstrip: false, single_word: false };
  config["pad_token"] = { content: "<unk>" };
  config["chat_template"] = [
    { name: "default", template: "{{ messages[0]['content'] }}" },
    { name: "rag", template: "RAG {{ messages[0]['content'] }}" },
  ];
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  const t = loadTokenizer(dir);
  assert.deepEqual(t.special.eos_token, { token: "</s>", id: 2 });
  assert.deepEqual(t.special.pad_token, { token: "<unk>", id: 0 });
  assert.equal(t.chatTemplate, "{{ messages[0]['content'] }}");
  assert.equal(t.chatTemplates["rag"], "RAG {{ messages[0]['content'] }}");
});

test("a folder without tokenizer.json is refused, naming the folder and what is missing", () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-tok-"));
  copyFileSync(join(mistral, "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
  assert.throws(
    () => loadTokenizer(dir),
    (error: unknown) => error instanceof KieloError && error.message.includes(dir) && error.message.includes("no tokenizer.json"),
  );
  const noConfig = mkdtempSync(join(tmpdir(), "kielo-tok-"));
  copyFileSync(join(mistral, "tokenizer.json"), join(noConfig, "tokenizer.json"));
  assert.throws(() => loadTokenizer(noConfig), /has no tokenizer_config\.json/);
  assert.throws(() => loadTokenizer(join(noConfig, "nope")), /does not exist/);
});

test("token ids of Finnish text equal the ids Python transformers gives (hand-copied from a transformers run)", async () => {
  const t = loadTokenizer(qwen3);
  const enc = await t.tokenizer.encode("<|im_start|>äö 😀 x yhtäkkiä", null, { addSpecialTokens: false });
  // transformers 5.17: AutoTokenizer.from_pretrained(qwen3)("<|im_start|>äö 😀 x yhtäkkiä", add_special_tokens=False)
  assert.deepEqual(enc.getIds(), [151644, 2305, 2956, 90316, 856, 379, 426, 2305, 74, 6642, 2305]);
});
