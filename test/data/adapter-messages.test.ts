import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { fixture, runAdapter, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);
const write = tmp.write;

describe("messages adapter", () => {
  test("OpenAI layout: roles and contents kept, ids from the rows", async () => {
    const { records } = await runAdapter("messages", fixture("messages/openai_lima_fi.jsonl"), { lang: "fi" });
    assert.equal(records.length, 3);
    assert.deepEqual(records[2], {
      kind: "conversation",
      id: "lima-fi-d2da179c844c993e501fdd104a892d4c",
      lang: "fi",
      messages: [
        { role: "user", content: "Mitkä ovat yleisimpiä kirosanoja, joita ihmiset lausuvat suuttuessaan?" },
        { role: "assistant", content: "Joskus ihmiset käyttävät kirosanoja ilmaistakseen vihaansa. En haluaisi toistaa niitä, koska se on epäkohteliasta." },
      ],
      meta: { source: { file: "openai_lima_fi.jsonl", row: 3 }, layout: "openai" },
    });
    assert.deepEqual(records[0]!.kind === "conversation" && records[0]!.messages.map((m) => m.role), ["system", "user", "assistant"]);
    assert.equal(records[0]!.kind === "conversation" && records[0]!.messages[0]!.content, "Vastaa suomeksi.");
  });

  test("ShareGPT layout (a JSON array): human → user, gpt → assistant, system kept", async () => {
    const { records } = await runAdapter("messages", fixture("messages/sharegpt_hh.json"));
    assert.deepEqual(records[0], {
      kind: "conversation",
      id: "hh-helpful-test-1",
      messages: [
        { role: "user", content: "Do you know why turkeys became the official food of thanksgiving?" },
        {
          role: "assistant",
          content:
            "To be honest, I don’t know anything about that. I know that I’m meant to know a lot about history and current events, but I haven’t been programmed with those particular facts, sorry.",
        },
      ],
      meta: { source: { file: "sharegpt_hh.json", row: 1 }, layout: "sharegpt" },
    });
    const second = records[1]!;
    assert.deepEqual(second.kind === "conversation" && second.messages.map((m) => m.role), ["system", "user", "assistant", "user", "assistant", "user", "assistant"]);
    assert.equal(second.kind === "conversation" && second.messages[3]!.content, "I am in Oregon.");
  });

  test("chatgpt/bing/model also mean assistant; OpenAI content parts are joined", async () => {
    const path = write(
      "aliases.jsonl",
      '{"conversations": [{"from": "user", "value": "Hei!"}, {"from": "bing", "value": "Hei, miten voin auttaa?"}]}\n' +
        '{"messages": [{"role": "user", "content": [{"type": "text", "text": "Moi "}, {"type": "text", "text": "taas"}]}, {"role": "model", "content": "Moi!"}]}\n',
    );
    const { records } = await runAdapter("messages", path);
    assert.deepEqual(records.map((r) => r.kind === "conversation" && r.messages), [
      [{ role: "user", content: "Hei!" }, { role: "assistant", content: "Hei, miten voin auttaa?" }],
      [{ role: "user", content: "Moi taas" }, { role: "assistant", content: "Moi!" }],
    ]);
  });

  test("an unknown role is an error naming the row and the message index", async () => {
    const path = write("tool.jsonl", '{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}\n{"messages": [{"role": "user", "content": "weather?"}, {"role": "tool", "content": "{}"}]}\n');
    await assert.rejects(runAdapter("messages", path), /tool\.jsonl:2 \(field messages\[1\]\.role\): unknown role "tool"; expected one of system, user, human/);
  });

  test("empty content is an error naming the message", async () => {
    const path = write("empty.json", '[{"conversations": [{"from": "human", "value": "Hello?"}, {"from": "gpt", "value": "  "}]}]');
    await assert.rejects(runAdapter("messages", path), /empty\.json:1 \(field conversations\[1\]\.value\): is empty/);
  });

  test("a row without messages or conversations is an error", async () => {
    const path = write("neither.jsonl", '{"text": "just text"}\n');
    await assert.rejects(runAdapter("messages", path), /neither\.jsonl:1: expected a `messages` or `conversations` list/);
  });

  test("a trailing user turn is trimmed; no assistant turn at all is a counted drop", async () => {
    const path = write(
      "trailing.jsonl",
      '{"messages": [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "B."}, {"role": "user", "content": "C?"}]}\n' +
        '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Only a question?"}]}\n',
    );
    const { records, dropped, notes } = await runAdapter("messages", path);
    assert.deepEqual(records.map((r) => r.kind === "conversation" && r.messages.length), [2]);
    assert.deepEqual(dropped, { "no-assistant-turn": 1 });
    assert.deepEqual(notes, { "trailing-user-turn-trimmed": 2 });
  });
});
