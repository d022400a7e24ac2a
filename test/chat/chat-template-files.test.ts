/**
 * Chat templates where transformers 5 keeps them (chat_template.jinja, additional_chat_templates/),
 * read in transformers' order: each folder layout is loaded by kielo and by transformers'
 * AutoTokenizer (a Python peer), and both must find the same templates. One folder is written by
 * transformers 5 itself (`tokenizer.save_pretrained`), and its generation-prompt ids must equal
 * `apply_chat_template`'s.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadChatTemplate } from "../../src/chat/chat-template.ts";
import { promptIds } from "../../src/chat/prompt-ids.ts";
import type { Message } from "../../src/data/records.ts";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";
import { KieloError } from "../../src/util/errors.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv/bin/python");
const qwen3 = join(root, "fixtures/tokenizers/qwen3");
const mistral = join(root, "fixtures/tokenizers/mistral-7b");

const conversation: Message[] = [
  { role: "system", content: "Vastaa suomeksi." },
  { role: "user", content: "Mikä on Suomen pääkaupunki?" },
];
const A = "{% for m in messages %}A:{{ m['content'] }}{% endfor %}";
const B = "{% for m in messages %}B:{{ m['content'] }}{% endfor %}";
const RAG = "{% for m in messages %}RAG:{{ m['content'] }}{% endfor %}";

/** A folder with Mistral's tokenizer.json, its config changed by `config`, and the given extra files. */
function layout(base: string, name: string, config: Record<string, unknown>, files: Record<string, string>): string {
  const dir = join(base, name);
  mkdirSync(dir);
  copyFileSync(join(mistral, "tokenizer.json"), join(dir, "tokenizer.json"));
  const original = JSON.parse(readFileSync(join(mistral, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ ...original, ...config }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

test("chat templates are found where transformers 5 finds them, in its order", async (t) => {
  const base = mkdtempSync(join(tmpdir(), "kielo-templates-"));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const saved = join(base, "saved-by-transformers");
  const dirs = {
    configOnly: layout(base, "config-only", { chat_template: A }, {}),
    jinjaWinsOverConfig: layout(base, "jinja-over-config", { chat_template: [{ name: "default", template: A }, { name: "rag", template: RAG }] }, { "chat_template.jinja": B }),
    jinjaAndNamed: layout(base, "jinja-and-named", {}, { "chat_template.jinja": B, "additional_chat_templates/rag.jinja": RAG }),
    namedOnly: layout(base, "named-only", { chat_template: A }, { "additional_chat_templates/rag.jinja": RAG }),
  };
  const spec = { save: [[qwen3, saved]], load: [saved, ...Object.values(dirs)], conversation };
  const specFile = join(base, "spec.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const run = spawnSync(python, [join(root, "test/chat/chat_template_files_reference.py"), specFile], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, run.stderr);
  const reference = JSON.parse(run.stdout) as Record<string, { chat_template: string | Record<string, string> | null; ids: number[] | null }>;
  const asRecord = (template: string | Record<string, string> | null) =>
    template === null ? {} : typeof template === "string" ? { default: template } : template;

  await t.test("a tokenizer saved by transformers 5: the template is in chat_template.jinja only", async () => {
    const config = JSON.parse(readFileSync(join(saved, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(config["chat_template"], undefined, "transformers 5 no longer writes it into tokenizer_config.json");
    const tokenizer = loadTokenizer(saved);
    assert.equal(tokenizer.chatTemplateSource, "chat_template.jinja");
    assert.deepEqual(tokenizer.chatTemplates, asRecord(reference[saved]!.chat_template));
    assert.equal(tokenizer.chatTemplate, loadTokenizer(qwen3).chatTemplate, "the same template as the original folder's config");
    const ids = await promptIds(loadChatTemplate(undefined, tokenizer), tokenizer, conversation);
    assert.deepEqual(ids, reference[saved]!.ids);
  });

  for (const [name, dir] of Object.entries(dirs)) {
    await t.test(`${name}: the same templates as AutoTokenizer`, () => {
      assert.deepEqual(loadTokenizer(dir).chatTemplates, asRecord(reference[dir]!.chat_template));
    });
  }

  await t.test("only named files: no default template, and the error names where kielo looked", () => {
    const tokenizer = loadTokenizer(dirs.namedOnly);
    assert.equal(tokenizer.chatTemplate, undefined);
    assert.throws(
      () => loadChatTemplate(undefined, tokenizer),
      (e: unknown) => e instanceof KieloError && e.message.includes("additional_chat_templates/rag.jinja") && /model:<name>/.test(e.hint ?? ""),
    );
    assert.equal(loadChatTemplate("model:rag", tokenizer).source, RAG);
  });
});

test("chat_template.json (the processors' legacy file) is read when nothing else has a template", () => {
  const base = mkdtempSync(join(tmpdir(), "kielo-templates-"));
  try {
    const dir = layout(base, "legacy-json", {}, { "chat_template.json": JSON.stringify({ chat_template: A }) });
    const tokenizer = loadTokenizer(dir);
    assert.equal(tokenizer.chatTemplate, A);
    assert.equal(tokenizer.chatTemplateSource, "chat_template.json");
    // A template in tokenizer_config.json comes first (AutoTokenizer never reads chat_template.json).
    const both = layout(base, "config-and-json", { chat_template: B }, { "chat_template.json": JSON.stringify({ chat_template: A }) });
    assert.equal(loadTokenizer(both).chatTemplate, B);
    const bad = layout(base, "bad-json", {}, { "chat_template.json": JSON.stringify({ template: A }) });
    assert.throws(() => loadTokenizer(bad), (e: unknown) => e instanceof KieloError && e.message.includes(join(bad, "chat_template.json")));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
