/**
 * Invalid UTF-8 in an input is an error naming the file, row and field (or key) — never silently
 * replaced by U+FFFD — in every reader: JSONL (also gzipped), JSON arrays, CSV and Parquet.
 */
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { readRows } from "../../src/data/readers/index.ts";
import { firstInvalidUtf8, jsonPathAt } from "../../src/data/readers/utf8.ts";
import { InputError } from "../../src/util/errors.ts";
import { collect, fixture, tempDir } from "./helpers.ts";

const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));

async function failure(path: string): Promise<InputError> {
  try {
    await collect(readRows(path));
  } catch (error) {
    assert.ok(error instanceof InputError, String(error));
    return error;
  }
  assert.fail(`${path} was read without an error`);
}

test("JSONL: a bad byte in a value names the line and the field; in a key, the key", async () => {
  const t = tempDir();
  try {
    const ok = '{"instruction": "Mitä kuuluu? 🙂", "context": "", "response": "Hyvää."}\n';
    const value = t.write("value.jsonl", "");
    writeFileSync(value, bytes(ok, '{"instruction": "a", "messages": [{"content": "ok"}, {"content": "b', [0xff], ' c"}]}\n'));
    const v = await failure(value);
    assert.deepEqual(v.location, { file: value, line: 2, field: "messages[1].content" });
    assert.match(v.message, /invalid UTF-8 \(byte 0xff at byte \d+ of the line\)$/);

    const key = t.write("key.jsonl", "");
    writeFileSync(key, bytes(ok, ok, '{"meta": {"instruction', [0xc3], '": "a"}}\n'));
    const k = await failure(key);
    assert.deepEqual(k.location, { file: key, line: 3, field: "meta" });
    assert.match(k.message, /in the key "instruction\uFFFD"$/);

    const gz = t.write("value.jsonl.gz", "");
    writeFileSync(gz, gzipSync(readFileSync(value)));
    assert.deepEqual((await failure(gz)).location, { file: gz, line: 2, field: "messages[1].content" });
  } finally {
    t.cleanup();
  }
});

test("JSON arrays, CSV and Parquet name the row and the field", async () => {
  const t = tempDir();
  try {
    const json = t.write("rows.json", "");
    writeFileSync(json, bytes('[{"a": "x"}, {"a": "y", "b": ["ok", "', [0xe9], '"]}]'));
    assert.deepEqual((await failure(json)).location, { file: json, line: 2, field: "b[1]" });

    const csv = t.write("rows.csv", "");
    writeFileSync(csv, bytes('instruction,context,response\na,b,c\n"two\nlines",x', [0xe9], ",y\n"));
    assert.deepEqual((await failure(csv)).location, { file: csv, line: 3, field: "context" });
    const header = t.write("header.csv", "");
    writeFileSync(header, bytes("instruction,cont", [0xe9], "xt\na,b\n"));
    assert.deepEqual((await failure(header)).location, { file: header, line: 1, field: "column 2" });

    // A real Parquet file (uncompressed pages) with one byte of the first instruction damaged.
    const parquet = t.write("rows.parquet", "");
    const data = readFileSync(fixture("parquet/dolly_en_fi_first8.none.parquet"));
    data[data.indexOf("Virgin Australia")] = 0xff;
    writeFileSync(parquet, data);
    assert.deepEqual((await failure(parquet)).location, { file: parquet, line: 1, field: "instruction" });
  } finally {
    t.cleanup();
  }
});

test("firstInvalidUtf8: the bytes before it are valid, the sequence at it is not (random damage of real text)", () => {
  const text = Buffer.from(readFileSync(fixture("dolly/dolly_en_fi_first8.jsonl"), "utf8").slice(0, 4000), "utf8");
  let state = 11;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  for (let round = 0; round < 300; round++) {
    const damaged = Buffer.from(text);
    for (let k = 0; k < 1 + (round % 3); k++) damaged[next() % damaged.length] = next() % 256;
    const at = firstInvalidUtf8(damaged);
    assert.equal(at === -1, isUtf8(damaged));
    if (at === -1) continue;
    assert.ok(isUtf8(damaged.subarray(0, at)), "the prefix is valid");
    // No valid character starts at `at` (UTF-8 synchronises: no longer run of bytes can mend it).
    const rest = damaged.subarray(at, at + 4);
    assert.ok([1, 2, 3, 4].every((n) => !isUtf8(rest.subarray(0, n))), `offset ${at}`);
  }
  assert.equal(firstInvalidUtf8(Buffer.from([0xe2, 0x82])), 0, "a cut sequence");
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80])), 1, "a UTF-16 surrogate");
  assert.equal(firstInvalidUtf8(Buffer.from([0xc0, 0xaf])), 0, "an overlong form");
});

test("jsonPathAt finds the string around an index, keys included", () => {
  const text = '{"a": {"b": [1, "x", {"c": "yz"}]}, "d": "w"}';
  assert.deepEqual(jsonPathAt(text, text.indexOf("yz") + 1), { path: "a.b[2].c", key: false });
  assert.deepEqual(jsonPathAt(text, text.indexOf('"c"') + 1), { path: "a.b[2].c", key: true });
  assert.deepEqual(jsonPathAt(text, text.indexOf('"w"') + 1), { path: "d", key: false });
  assert.equal(jsonPathAt(text, text.indexOf("1")), undefined);
});
