/**
 * Parity with Python transformers (run as a peer process): token ids of rendered multi-turn
 * conversations (system prompt, several turns, Finnish, emoji) must equal
 * `apply_chat_template(..., tokenize=True)` for the Qwen3, Llama-3 and Mistral tokenizers and the tiny
 * model's, and for the real SmolLM2-135M-Instruct (its template from chat_template.jinja, with and
 * without a system prompt: without one, its template writes a default system turn); generation-prompt
 * ids likewise; and where a template marks assistant text with
 * `{% generation %}`, our trained flags (derived from prefix renders, no markers) must equal
 * transformers' `return_assistant_tokens_mask`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { BUILTIN_TEMPLATES } from "../../src/chat/builtin-templates.ts";
import { compileTemplate, loadChatTemplate, type ChatTemplate } from "../../src/chat/chat-template.ts";
import { renderConversation } from "../../src/chat/message-spans.ts";
import { promptIds, promptIdsBatch } from "../../src/chat/prompt-ids.ts";
import type { Message } from "../../src/data/records.ts";
import { specialTokenStrings } from "../../src/tokenize/special-tokens.ts";
import { encodeTexts } from "../../src/tokenize/encode-texts.ts";
import { markSpanTokens } from "../../src/tokenize/span-tokens.ts";
import { loadTokenizer, type LoadedTokenizer } from "../../src/tokenize/tokenizer-folder.ts";
import { realModelDir } from "../real-model/model.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const python = process.env["KIELO_PYTHON"] ?? join(root, ".venv/bin/python");
const fixtures = join(root, "test/fixtures/chat");
const tokenizerDirs = {
  qwen3: join(root, "fixtures/tokenizers/qwen3"),
  llama3: join(root, "fixtures/tokenizers/llama3"),
  mistral: join(root, "fixtures/tokenizers/mistral-7b"),
  stories: join(root, "fixtures/models/stories260K/hf"),
  smollm2: realModelDir(),
};

function jsonl<T>(name: string): T[] {
  return readFileSync(join(fixtures, name), "utf8").trim().split("\n").map((l) => JSON.parse(l) as T);
}

const handMade: Message[] = [
  { role: "system", content: "Olet avulias avustaja." },
  { role: "user", content: "Mitä kuuluu? 😀" },
  { role: "assistant", content: "Hyvää, kiitos! Entä sinulle?" },
  { role: "user", content: "Kerro vitsi äidistä ja öljystä." },
  { role: "assistant", content: "Miksi öljy ei koskaan riitele? Koska se on aina pinnalla. 🙂" },
];
const oasst = jsonl<{ messages: Message[] }>("oasst-fi-threads.jsonl").slice(0, 3).map((r) => r.messages);
const dolly = jsonl<{ messages: Message[] }>("dolly-en-fi.jsonl").slice(0, 4).map((r) => r.messages);
const withSystem = [handMade, ...oasst, ...dolly];
const withoutSystem = withSystem.map((c) => c.filter((m) => m.role !== "system"));

interface Case {
  name: string;
  tokenizer: keyof typeof tokenizerDirs;
  /** undefined: the tokenizer's own template. */
  template?: { name: string; source: string };
  conversations: Message[][];
  mask: boolean;
}

const fixtureTemplate = (file: string) => ({ name: `file:${file}`, source: readFileSync(join(fixtures, file), "utf8") });
const cases: Case[] = [
  { name: "qwen3 own template", tokenizer: "qwen3", conversations: withSystem, mask: false },
  { name: "llama3 own template", tokenizer: "llama3", conversations: withSystem, mask: false },
  { name: "mistral instruct template", tokenizer: "mistral", template: fixtureTemplate("mistral-instruct.jinja"), conversations: withoutSystem, mask: false },
  { name: "mistral llama-2 builtin", tokenizer: "mistral", template: { name: "llama-2", source: BUILTIN_TEMPLATES["llama-2"]! }, conversations: withSystem, mask: false },
  { name: "stories260K chatml builtin", tokenizer: "stories", template: { name: "chatml", source: BUILTIN_TEMPLATES["chatml"]! }, conversations: withSystem, mask: false },
  { name: "stories260K llama-2 builtin", tokenizer: "stories", template: { name: "llama-2", source: BUILTIN_TEMPLATES["llama-2"]! }, conversations: withSystem, mask: false },
  { name: "smollm2 own template, with a system prompt", tokenizer: "smollm2", conversations: withSystem, mask: false },
  { name: "smollm2 own template, without a system prompt", tokenizer: "smollm2", conversations: withoutSystem, mask: false },
  { name: "qwen3 chatml with generation tags", tokenizer: "qwen3", template: fixtureTemplate("chatml-generation.jinja"), conversations: withSystem, mask: true },
  { name: "stories260K llama-2 with generation tags", tokenizer: "stories", template: fixtureTemplate("llama-2-generation.jinja"), conversations: withSystem, mask: true },
  { name: "mistral llama-2 with generation tags", tokenizer: "mistral", template: fixtureTemplate("llama-2-generation.jinja"), conversations: withSystem, mask: true },
];

interface Reference {
  ids: number[];
  mask: number[] | null;
  prompt_ids: number[] | null;
}

function runReference(): Record<string, Reference[]> {
  const dir = mkdtempSync(join(tmpdir(), "kielo-parity-"));
  const input = join(dir, "cases.json");
  writeFileSync(
    input,
    JSON.stringify(cases.map((c) => ({ name: c.name, tokenizer: tokenizerDirs[c.tokenizer], template: c.template?.source ?? null, conversations: c.conversations, mask: c.mask }))),
  );
  const result = spawnSync(python, [join(root, "test/chat/transformers_reference.py"), input], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(result.status, 0, `python reference failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, Reference[]>;
}

test("token ids, generation prompts and assistant masks equal transformers apply_chat_template", async (t) => {
  const reference = runReference();
  const loaded = new Map<string, LoadedTokenizer>();
  for (const c of cases) {
    await t.test(c.name, async () => {
      let tokenizer = loaded.get(c.tokenizer);
      if (tokenizer === undefined) {
        tokenizer = loadTokenizer(tokenizerDirs[c.tokenizer]);
        loaded.set(c.tokenizer, tokenizer);
      }
      const template: ChatTemplate =
        c.template === undefined ? loadChatTemplate(undefined, tokenizer) : compileTemplate(c.template.name, c.template.source, specialTokenStrings(tokenizer.special));
      const expected = reference[c.name]!;
      assert.equal(expected.length, c.conversations.length);
      assert.deepEqual(
        await promptIdsBatch(template, tokenizer, c.conversations.map((m) => m.slice(0, -1))),
        expected.map((e) => e.prompt_ids),
      );
      for (const [i, conversation] of c.conversations.entries()) {
        const want = expected[i]!;
        const rendered = renderConversation(template, conversation, "assistant");
        const [encoded] = await encodeTexts(tokenizer.tokenizer, [rendered.text], [true]);
        assert.deepEqual(Array.from(encoded!.ids), want.ids, `${c.name}, conversation ${i}: token ids`);
        assert.deepEqual(await promptIds(template, tokenizer, conversation.slice(0, -1)), want.prompt_ids, `${c.name}, conversation ${i}: generation-prompt ids`);
        if (want.mask !== null) {
          const flags = new Uint8Array(want.ids.length);
          markSpanTokens(encoded!.starts!, rendered.text, rendered.spans, flags);
          assert.ok(want.mask.includes(1), "the reference mask marks something");
          assert.deepEqual(Array.from(flags), want.mask, `${c.name}, conversation ${i}: assistant mask`);
        }
      }
    });
  }
});
