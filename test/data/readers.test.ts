import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { formatFromPath, readRows } from "../../src/data/readers/index.ts";
import { KieloError } from "../../src/util/errors.ts";
import { collect, fixture, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);
const write = tmp.write;

describe("readRows: JSONL", () => {
  test("reads every line with its line number", async () => {
    const rows = await collect(readRows(fixture("dolly/dolly_en_fi_first8.jsonl")));
    assert.equal(rows.length, 8);
    assert.deepEqual(rows.map((r) => r.row), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(rows[0]!.value["id"], "dolly:0");
    assert.equal(rows[0]!.value["instruction"], "When did Virgin Australia start operating?");
    assert.equal(rows[0]!.value["instruction_fi"], "Milloin Virgin Australia aloitti toimintansa?");
  });

  test("gunzips .jsonl.gz on the fly", async () => {
    const rows = await collect(readRows(fixture("hh-rlhf/helpful_base_test_sample.jsonl.gz")));
    assert.equal(rows.length, 8);
    assert.ok(String(rows[0]!.value["chosen"]).startsWith("\n\nHuman: Do you know why turkeys became the official food of thanksgiving?"));
  });

  test("skips blank lines but keeps counting them", async () => {
    const path = write("blank.jsonl", '{"a":1}\n\n{"a":2}\n');
    assert.deepEqual((await collect(readRows(path))).map((r) => [r.row, r.value["a"]]), [[1, 1], [3, 2]]);
  });

  test("malformed JSON names file and line", async () => {
    const path = write("bad.jsonl", '{"a":1}\n{"a":2}\n{"a": oops}\n');
    await assert.rejects(collect(readRows(path)), (error: Error) => {
      assert.ok(error instanceof KieloError);
      assert.match(error.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: malformed JSON`));
      return true;
    });
  });

  test("a line that is not an object is an error with its line", async () => {
    const path = write("array-line.jsonl", '{"a":1}\n[1,2]\n');
    await assert.rejects(collect(readRows(path)), /array-line\.jsonl:2: expected a JSON object, found an array/);
  });

  test("a missing file is a KieloError, not a crash", async () => {
    await assert.rejects(collect(readRows(join(tmp.dir, "nope.jsonl"))), (error: Error) => error instanceof KieloError && /nope\.jsonl: no such file or folder/.test(error.message));
  });

  test("a broken gzip file is a KieloError naming the file", async () => {
    const path = write("broken.jsonl.gz", "this is not gzip");
    await assert.rejects(collect(readRows(path)), (error: Error) => error instanceof KieloError && /broken\.jsonl\.gz: not a valid gzip file/.test(error.message));
  });
});

describe("readRows: JSON arrays", () => {
  test("reads the elements, numbered from 1", async () => {
    const rows = await collect(readRows(fixture("messages/sharegpt_hh.json")));
    assert.deepEqual(rows.map((r) => [r.row, r.value["id"]]), [[1, "hh-helpful-test-1"], [2, "hh-helpful-test-2"]]);
  });

  test("an element that is not an object is named by its position", async () => {
    const path = write("mixed.json", '[{"a":1}, {"a":2}, "three"]');
    await assert.rejects(collect(readRows(path)), /mixed\.json:3: array element 3 \(index 2\) is a string, expected an object/);
  });

  test("a top-level object is refused", async () => {
    const path = write("object.json", '{"rows": []}');
    await assert.rejects(collect(readRows(path)), /object\.json: expected a JSON array of objects at the top level, found an object/);
  });

  test("malformed JSON names the file", async () => {
    const path = write("truncated.json", '[{"a":1},');
    await assert.rejects(collect(readRows(path)), /truncated\.json: malformed JSON/);
  });
});

describe("readRows: CSV", () => {
  test("header row gives the keys; rows count the header as row 1; quoted fields may span lines", async () => {
    const rows = await collect(readRows(fixture("qa-context/qa_hi_en.csv")));
    assert.deepEqual(rows.map((r) => r.row), [2, 3, 4, 5]);
    assert.deepEqual(Object.keys(rows[0]!.value), ["question", "context", "answer"]);
    assert.equal(rows[0]!.value["question"], "भारत की राजधानी क्या है?");
    assert.equal(rows[2]!.value["context"], "");
    assert.equal(
      rows[3]!.value["context"],
      "The Constituent Assembly adopted the Constitution of India on 26 November 1949.\nIt came into effect on 26 January 1950, which is celebrated as Republic Day.",
    );
  });

  test("a row with the wrong number of fields names its row", async () => {
    const path = write("ragged.csv", "question,answer\nq1,a1\nq2,a2,extra\n");
    await assert.rejects(collect(readRows(path)), (error: Error) => {
      assert.ok(error instanceof KieloError);
      assert.match(error.message, /ragged\.csv:3: malformed CSV/);
      return true;
    });
  });

  test(".tsv uses tabs", async () => {
    const path = write("two.tsv", "question\tanswer\nWhat, exactly?\tThis, exactly.\n");
    assert.deepEqual((await collect(readRows(path)))[0]!.value, { question: "What, exactly?", answer: "This, exactly." });
  });
});

describe("readRows: Parquet", () => {
  for (const codec of ["zstd", "snappy", "gzip", "none"]) {
    test(`${codec}: the same rows as the JSONL they were written from, across row groups`, async () => {
      const expected = await collect(readRows(fixture("dolly/dolly_en_fi_first8.jsonl")));
      const rows = await collect(readRows(fixture(`parquet/dolly_en_fi_first8.${codec}.parquet`)));
      assert.deepEqual(rows.map((r) => r.row), [1, 2, 3, 4, 5, 6, 7, 8]);
      for (let i = 0; i < 8; i++) {
        assert.deepEqual(rows[i]!.value, { ...expected[i]!.value, row_number: i + 1 });
      }
      // int64 arrives as a plain number, safe to JSON.stringify.
      assert.equal(typeof rows[7]!.value["row_number"], "number");
    });
  }

  test("a file that is not Parquet is a KieloError naming it", async () => {
    const path = write("fake.parquet", "PAR1 not really");
    await assert.rejects(collect(readRows(path)), (error: Error) => error instanceof KieloError && /fake\.parquet: not a valid Parquet file/.test(error.message));
  });
});

describe("format detection", () => {
  test("by extension, .gz looked through", () => {
    assert.equal(formatFromPath("a/b.jsonl"), "jsonl");
    assert.equal(formatFromPath("b.JSONL.gz"), "jsonl");
    assert.equal(formatFromPath("b.json"), "json");
    assert.equal(formatFromPath("b.csv.gz"), "csv");
    assert.equal(formatFromPath("b.tsv"), "csv");
    assert.equal(formatFromPath("b.parquet"), "parquet");
    assert.equal(formatFromPath("b.txt"), undefined);
  });

  test("an unknown extension is refused unless the format is given", async () => {
    const path = write("rows.txt", '{"a":1}\n');
    await assert.rejects(collect(readRows(path)), /cannot tell the format of .*rows\.txt from its extension/);
    assert.deepEqual((await collect(readRows(path, { format: "jsonl" })))[0]!.value, { a: 1 });
  });
});
