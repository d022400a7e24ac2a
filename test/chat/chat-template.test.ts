import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ChatTemplateError, loadChatTemplate } from "../../src/chat/chat-template.ts";
import { commonPrefixLength, renderConversation } from "../../src/chat/message-spans.ts";
import type { Message } from "../../src/data/records.ts";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";
import { KieloError } from "../../src/util/errors.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const stories = loadTokenizer(join(root, "fixtures/models/stories260K/hf"));
const qwen3 = loadTokenizer(join(root, "fixtures/tokenizers/qwen3"));
const fixtures = join(root, "test/fixtures/chat");

const qa = (context: string, question: string, answer: string): Message[] => [
  { role: "system", content: "Answer the question based on the context below." },
  { role: "user", content: `${context ? `[context]: ${context} [/context]\n` : ""}[question]  ${question} [/question]` },
  { role: "assistant", content: answer },
];

test("qa-context reproduces the reference notebook's training string exactly", () => {
  const t = loadChatTemplate("qa-context", stories);
  assert.equal(
    t.render(qa("Tim has a dog.", "What does Tim have?", "A dog.")),
    "<s> [INST] <<SYS>> Answer the question based on the context below. <</SYS>> \n[context]: Tim has a dog. [/context]\n[question]  What does Tim have? [/question][/INST] A dog.</s>",
  );
  // Empty context: the context part is left out by the adapter; the template renders what it gets.
  assert.equal(
    t.render(qa("", "Kuka?", "Minä.")),
    "<s> [INST] <<SYS>> Answer the question based on the context below. <</SYS>> \n[question]  Kuka? [/question][/INST] Minä.</s>",
  );
  // The generation prompt stops at [/INST], a prefix of the training string.
  const prompt = t.render(qa("Tim has a dog.", "What does Tim have?", "A dog.").slice(0, 2), { addGenerationPrompt: true });
  assert.ok(prompt.endsWith("[/INST]"));
  assert.ok(t.render(qa("Tim has a dog.", "What does Tim have?", "A dog.")).startsWith(prompt));
});

test("qa-context refuses a multi-turn conversation with the template's own message", () => {
  const t = loadChatTemplate("qa-context", stories);
  const messages: Message[] = [...qa("c", "q", "a"), { role: "user", content: "again" }];
  assert.throws(() => t.render(messages), (e: unknown) => e instanceof ChatTemplateError && e.jinjaMessage.includes("one user turn"));
});

test("chatml and llama-2 built-ins render the classic formats", () => {
  const conversation: Message[] = [
    { role: "system", content: "Ole lyhyt." },
    { role: "user", content: "Hei!" },
    { role: "assistant", content: "Moi." },
  ];
  assert.equal(
    loadChatTemplate("chatml", stories).render(conversation),
    "<|im_start|>system\nOle lyhyt.<|im_end|>\n<|im_start|>user\nHei!<|im_end|>\n<|im_start|>assistant\nMoi.<|im_end|>\n",
  );
  assert.equal(
    loadChatTemplate("chatml", stories).render(conversation.slice(0, 2), { addGenerationPrompt: true }),
    "<|im_start|>system\nOle lyhyt.<|im_end|>\n<|im_start|>user\nHei!<|im_end|>\n<|im_start|>assistant\n",
  );
  assert.equal(
    loadChatTemplate("llama-2", stories).render([...conversation, { role: "user", content: " Mitä? " }, { role: "assistant", content: "Ei mitään." }]),
    "<s>[INST] <<SYS>>\nOle lyhyt.\n<</SYS>>\n\nHei! [/INST] Moi. </s><s>[INST] Mitä? [/INST] Ei mitään. </s>",
  );
});

test("the model's own template is the default; bos/eos come from the tokenizer config", () => {
  const t = loadChatTemplate(undefined, qwen3);
  assert.equal(t.name, "model");
  assert.equal(t.render([{ role: "user", content: "Hei" }], { addGenerationPrompt: true }), "<|im_start|>user\nHei<|im_end|>\n<|im_start|>assistant\n");
});

test("bad template specs are clear errors", () => {
  assert.throws(() => loadChatTemplate(undefined, stories), (e: unknown) => e instanceof KieloError && /no default chat template/.test(e.message) && /--template/.test(e.hint ?? ""));
  assert.throws(() => loadChatTemplate("vicuna", stories), /unknown chat template "vicuna"/);
  assert.throws(() => loadChatTemplate("file:/nonexistent/t.jinja", stories), /cannot read chat template \/nonexistent\/t\.jinja: ENOENT/);
  assert.throws(() => loadChatTemplate("model:rag", qwen3), /no chat template named "rag"/);
});

test("a template that raises reports the Jinja message", () => {
  const t = loadChatTemplate(`file:${join(fixtures, "mistral-instruct.jinja")}`, stories);
  assert.throws(
    () => t.render([{ role: "system", content: "x" }, { role: "user", content: "y" }]),
    (e: unknown) => e instanceof ChatTemplateError && e.message.includes("Conversation roles must alternate") && e.templateName.startsWith("file:"),
  );
});

test("assistant spans from prefix renders include the end-of-turn and exclude the assistant header", () => {
  const t = loadChatTemplate("chatml", stories);
  const messages: Message[] = [
    { role: "user", content: "Hei!" },
    { role: "assistant", content: "Moi." },
    { role: "user", content: "Mitä?" },
    { role: "assistant", content: "Ei mitään." },
  ];
  const all = renderConversation(t, messages, "assistant");
  assert.deepEqual(
    all.spans.map((s) => all.text.slice(s.start, s.end)),
    ["Moi.<|im_end|>\n", "Ei mitään.<|im_end|>\n"],
  );
  const last = renderConversation(t, messages, "last-assistant");
  assert.deepEqual(last.spans.map((s) => last.text.slice(s.start, s.end)), ["Ei mitään.<|im_end|>\n"]);
  assert.deepEqual(renderConversation(t, messages, "none").spans, []);
});

test("Qwen3: an earlier assistant turn (rendered without a think block) still gets its span", () => {
  const t = loadChatTemplate(undefined, qwen3);
  const r = renderConversation(
    t,
    [
      { role: "user", content: "Hei!" },
      { role: "assistant", content: "Moi." },
      { role: "user", content: "Mitä?" },
      { role: "assistant", content: "Ei mitään." },
    ],
    "assistant",
  );
  assert.deepEqual(
    r.spans.map((s) => r.text.slice(s.start, s.end)),
    ["Moi.<|im_end|>\n", "<think>\n\n</think>\n\nEi mitään.<|im_end|>\n"],
  );
});

test("commonPrefixLength", () => {
  assert.equal(commonPrefixLength("abc", "abd"), 2);
  assert.equal(commonPrefixLength("", "x"), 0);
  assert.equal(commonPrefixLength("äö", "äö!"), 2);
});

test("Llama-3 base template (appends an assistant header to every render): documented span ends", () => {
  const llama3 = loadTokenizer(join(root, "fixtures/tokenizers/llama3"));
  const r = renderConversation(
    loadChatTemplate(undefined, llama3),
    [
      { role: "user", content: "Hei!" },
      { role: "assistant", content: "Moi." },
      { role: "user", content: "Mitä?" },
      { role: "assistant", content: "Ei mitään." },
    ],
    "assistant",
  );
  // The <|eot_id|> of each reply is inside its span; the earlier reply's span also takes the next
  // header's first token, the last one the appended header (see message-spans.ts).
  assert.deepEqual(
    r.spans.map((s) => r.text.slice(s.start, s.end)),
    ["Moi.<|eot_id|><|start_header_id|>", "Ei mitään.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"],
  );
});
