/** Protection and segmentation are lossless on real texts, and damage to markers is reported. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { protect, protectedSpans, restore } from "../../src/text/protect.ts";
import { fencedCodeBlocks } from "../../src/text/fences.ts";
import { assemble, segmentMessage } from "../../src/translate/segment.ts";
import { FIXTURES } from "./helpers/fixture-records.ts";

// Every English text of the fixtures, including the 68 oasst messages with code blocks.
const texts = ["oasst1-fi-aligned.jsonl", "bench-oasst.jsonl", "bench-oasst-code.jsonl", "bench-dolly.jsonl"].flatMap((name) =>
  readFileSync(new URL(name, FIXTURES), "utf8")
    .trim()
    .split("\n")
    .flatMap((line) => {
      const row = JSON.parse(line) as Record<string, string>;
      return [row["text_en"], row["instruction"], row["context"], row["response"]].filter((text): text is string => typeof text === "string");
    }),
);

test("segment + protect + restore reproduce every real text exactly, at any segment size", () => {
  assert.ok(texts.length > 800, `${texts.length} texts`);
  for (const maxChars of [1, 80, 400, 2000, Infinity]) {
    for (const text of texts) {
      const pieces = segmentMessage(text, { maxChars });
      const back = assemble(pieces, (segment) => {
        const guarded = protect(segment);
        const restored = restore(guarded.text, guarded.values);
        assert.deepEqual(restored.problems, []);
        return restored.text;
      });
      assert.equal(back, text);
      // Code blocks are never sent: no segment contains a fence.
      for (const piece of pieces) if (piece.kind === "segment") assert.ok(!/^[ \t]*```/m.test(piece.text), piece.text.slice(0, 80));
    }
  }
});

test("segments respect the size limit where paragraphs allow, and keep code blocks verbatim between them", () => {
  const text = "First paragraph here.\n\nSecond one, a bit longer.\n\n```python\nprint('hi')  # say hi\n```\n\nThird paragraph.";
  assert.deepEqual(segmentMessage(text, { maxChars: 30 }), [
    { kind: "segment", text: "First paragraph here." },
    { kind: "verbatim", text: "\n\n" },
    { kind: "segment", text: "Second one, a bit longer." },
    { kind: "verbatim", text: "\n\n```python\nprint('hi')  # say hi\n```\n\n" },
    { kind: "segment", text: "Third paragraph." },
  ]);
  assert.deepEqual(segmentMessage(text, { maxChars: 2000 })[0], { kind: "segment", text: "First paragraph here.\n\nSecond one, a bit longer." });
  assert.deepEqual(fencedCodeBlocks(text), ["```python\nprint('hi')  # say hi\n```"]);
});

test("protected spans: inline code, URLs, e-mails, placeholders, numbers with units", () => {
  const text = "Run `npm test`, see https://example.org/a?b=1. Mail a.b@example.fi, fill [name] and {{date}}: 5 km, 3.5 kg, 20%, 5 apples.";
  const guarded = protect(text);
  assert.equal(guarded.text, "Run ⟦1⟧, see ⟦2⟧. Mail ⟦3⟧, fill ⟦4⟧ and ⟦5⟧: ⟦6⟧, ⟦7⟧, ⟦8⟧, 5 apples.");
  assert.deepEqual(guarded.values, ["`npm test`", "https://example.org/a?b=1", "a.b@example.fi", "[name]", "{{date}}", "5 km", "3.5 kg", "20%"]);
  assert.deepEqual(guarded.kinds, ["inline-code", "url", "email", "placeholder", "placeholder", "number-unit", "number-unit", "number-unit"]);
  // Markdown links keep their text translatable; the URL inside is protected.
  assert.deepEqual(protectedSpans("[the docs](https://x.org)").map((span) => span.kind), ["url"]);
  // Caller-given strings (IFEval keywords): whole words, any case, longest first.
  assert.equal(protect("Use Story and stories; story.", ["story"]).text, "Use ⟦1⟧ and stories; ⟦2⟧.");
});

test("restore reports lost, duplicated and invented markers, and tolerates spaces inside one", () => {
  const values = ["`x`", "[y]"];
  assert.deepEqual(restore("A ⟦ 1 ⟧ B ⟦2⟧", values), { text: "A `x` B [y]", problems: [] });
  assert.deepEqual(restore("A ⟦1⟧ B", values).problems, [{ kind: "sentinel-lost", sentinel: "⟦2⟧", value: "[y]" }]);
  assert.deepEqual(restore("⟦1⟧ ⟦1⟧ ⟦2⟧", values).problems, [{ kind: "sentinel-duplicated", sentinel: "⟦1⟧", value: "`x`" }]);
  assert.deepEqual(restore("⟦1⟧ ⟦2⟧ ⟦3⟧", values).problems, [{ kind: "sentinel-unknown", sentinel: "⟦3⟧" }]);
});

test("JSON is kept verbatim unless asked; then only string values are sent, and re-escaped", () => {
  const json = '{\n  "name": "Blue whale",\n  "facts": ["It is \\"big\\".", 42],\n  "id": "a1"\n}';
  assert.deepEqual(segmentMessage(json, { maxChars: 2000 }), [{ kind: "verbatim", text: json }]);
  const pieces = segmentMessage(json, { maxChars: 2000, translateJson: true });
  assert.deepEqual(pieces.filter((piece) => piece.kind === "segment").map((piece) => piece.text), ["Blue whale", 'It is "big".']);
  const translated = assemble(pieces, (segment) => (segment === "Blue whale" ? "Sinivalas" : 'Se on "iso".'));
  assert.deepEqual(JSON.parse(translated), { name: "Sinivalas", facts: ['Se on "iso".', 42], id: "a1" });
  // A ```json block inside prose: verbatim by default, values translated with the flag.
  const message = 'Here it is:\n\n```json\n{"title": "Hello"}\n```';
  assert.ok(segmentMessage(message, { maxChars: 2000 }).some((piece) => piece.kind === "verbatim" && piece.text.includes('"Hello"')));
  assert.deepEqual(
    segmentMessage(message, { maxChars: 2000, translateJson: true }).filter((piece) => piece.kind === "segment").map((piece) => piece.text),
    ["Here it is:", "Hello"],
  );
});
