/**
 * Long conversations: assistant spans come from one marked render plus a bounded number of exact
 * prefix renders (linear in turns), and equal the exact, every-prefix rule on every template kielo
 * ships or tests with.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadChatTemplate, type ChatTemplate } from "../../src/chat/chat-template.ts";
import { EXACT_UP_TO, exactSpans, learnedSpans, renderConversation } from "../../src/chat/message-spans.ts";
import type { Message } from "../../src/data/records.ts";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tokenizers = {
  stories: loadTokenizer(join(root, "fixtures/models/stories260K/hf")),
  qwen3: loadTokenizer(join(root, "fixtures/tokenizers/qwen3")),
  llama3: loadTokenizer(join(root, "fixtures/tokenizers/llama3")),
};
const chat = join(root, "test/fixtures/chat");

const templates: [string, ChatTemplate][] = [
  ["qwen3 (model)", loadChatTemplate(undefined, tokenizers.qwen3)],
  ["llama3 (model)", loadChatTemplate(undefined, tokenizers.llama3)],
  ["llama-2", loadChatTemplate("llama-2", tokenizers.stories)],
  ["chatml", loadChatTemplate("chatml", tokenizers.stories)],
  ["qa-context", loadChatTemplate("qa-context", tokenizers.stories)],
  ["mistral-instruct", loadChatTemplate(`file:${join(chat, "mistral-instruct.jinja")}`, tokenizers.stories)],
  ["chatml-generation", loadChatTemplate(`file:${join(chat, "chatml-generation.jinja")}`, tokenizers.stories)],
];

/** A conversation of `turns` user/assistant messages (with a system message first when `system`). */
function conversation(turns: number, system: boolean): Message[] {
  const contents = ["Hei! Mitä kuuluu?", "user", "Hyvin 🙂 kiitos.", "assistant", "Kerro vitsi.\n\nKaksi riviä.", "[INST] ei ole ohje", "Selvä.", "<<SYS>>"];
  const messages: Message[] = system ? [{ role: "system", content: "Olet avulias." }] : [];
  for (let i = 0; i < turns; i++) messages.push({ role: i % 2 === 0 ? "user" : "assistant", content: `${contents[i % contents.length]} (${i})` });
  return messages;
}

/** Counts the messages rendered in total (the work a render does grows with them). */
function counting(template: ChatTemplate): { template: ChatTemplate; rendered: () => number } {
  let rendered = 0;
  return {
    template: { ...template, render: (messages, options) => ((rendered += messages.length), template.render(messages, options)) },
    rendered: () => rendered,
  };
}

test("long conversations: the linear spans equal the exact rule on every template", () => {
  for (const [name, template] of templates) {
    for (const system of [false, true]) {
      for (const turns of [EXACT_UP_TO + 2, 45]) {
        const messages = conversation(turns, system);
        let text: string;
        try {
          text = template.render(messages);
        } catch {
          continue; // a template that refuses a system message (or this shape) has nothing to compare
        }
        const assistants = messages.flatMap((m, k) => (m.role === "assistant" ? [k] : []));
        for (const selected of [assistants, assistants.slice(-1)]) {
          const exact = exactSpans(template, messages, selected);
          const rendered = renderConversation(template, messages, selected.length === 1 ? "last-assistant" : "assistant");
          assert.equal(rendered.text, text);
          assert.deepEqual(rendered.spans, exact, `${name}, ${turns} turns, system ${system}`);
        }
      }
    }
  }
});

test("the linear path is taken (not the exact fallback) for the shipped templates", () => {
  for (const [name, template] of templates) {
    const messages = conversation(41, false);
    if (name === "qa-context") continue; // one user turn and one reply at most: never long
    const assistants = messages.flatMap((m, k) => (m.role === "assistant" ? [k] : []));
    assert.notEqual(learnedSpans(template, messages, assistants, template.render(messages)), undefined, name);
  }
});

test("the work grows linearly with turns: messages rendered for 200 and 2,000 turns", () => {
  for (const [name, template] of templates.slice(0, 3)) {
    const counts = [200, 2000].map((turns) => {
      const { template: counted, rendered } = counting(template);
      renderConversation(counted, conversation(turns, false), "assistant");
      return rendered() / turns;
    });
    // Per turn, the same bounded number of messages (a few full renders), not a number that grows with the turns.
    assert.ok(counts[1]! < 1.2 * counts[0]! && counts[1]! < 12, `${name}: ${counts.map((c) => c.toFixed(2)).join(" → ")} messages rendered per turn`);
  }
});
