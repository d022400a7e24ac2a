import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, test } from "node:test";
import { convertFile, formatConvertSummary } from "../../src/data/convert.ts";
import { readRecords } from "../../src/data/records-file.ts";
import { collect, fixture, REPO, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const outPath = (name = "out.jsonl") => join(tmp.dir, `${++n}-${name}`);

describe("convertFile", () => {
  test("writes valid records and a summary of rows in, records out and drops", async () => {
    const out = outPath();
    const summary = await convertFile({ input: fixture("hh-rlhf/helpful_base_test_sample.jsonl.gz"), format: "hh-rlhf", out, quiet: true });
    assert.equal(summary.rows_in, 8);
    assert.equal(summary.records_out, 2);
    assert.equal(summary.preferences, 2);
    assert.deepEqual(summary.dropped, { "empty-reply": 2, identical: 1, "no-shared-prefix": 2, "non-alternating-turns": 1 });
    const records = await collect(readRecords(out));
    assert.deepEqual(records.map((r) => r.record.id), ["hh-rlhf-1", "hh-rlhf-2"]);
    assert.match(formatConvertSummary(summary), /rows in: 8\nrecords out: 2 \(0 conversations, 2 preference pairs\)\ndropped: empty-reply 2, identical 1, no-shared-prefix 2, non-alternating-turns 1\n/);
  });

  test("--limit stops after n records", async () => {
    const out = outPath();
    const summary = await convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", out, limit: 3, quiet: true });
    assert.equal(summary.records_out, 3);
    assert.equal(summary.limited, true);
    assert.equal(readFileSync(out, "utf8").trimEnd().split("\n").length, 3);
  });

  test("an existing output is kept unless --force", async () => {
    const out = outPath();
    writeFileSync(out, "precious\n");
    await assert.rejects(convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", out, quiet: true }), /already exists/);
    assert.equal(readFileSync(out, "utf8"), "precious\n");
    await convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", out, force: true, quiet: true });
    assert.equal(readFileSync(out, "utf8").trimEnd().split("\n").length, 8);
  });

  test("a bad row half-way leaves no output file and no temporary file", async () => {
    const input = join(tmp.dir, "half-bad.jsonl");
    const good = readFileSync(fixture("dolly/dolly_en_fi_first8.jsonl"), "utf8");
    writeFileSync(input, `${good}{"instruction": "Broken", "context": "", "response": 42}\n`);
    const out = outPath("half.jsonl");
    await assert.rejects(convertFile({ input, format: "dolly", out, quiet: true }), /half-bad\.jsonl:9 \(field response\): expected text, found a number/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(tmp.dir).filter((name) => name.includes("half.jsonl")), []);
  });

  test("duplicate ids are refused", async () => {
    const input = join(tmp.dir, "dup.jsonl");
    writeFileSync(input, '{"id": "a", "instruction": "x", "response": "y"}\n{"id": "a", "instruction": "z", "response": "w"}\n');
    await assert.rejects(convertFile({ input, format: "dolly", out: outPath(), quiet: true }), /two records have the id "a"/);
  });

  test("--pairs on a format without preferences, and unknown --column fields, are refused", async () => {
    await assert.rejects(convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", out: outPath(), pairs: true, quiet: true }), /--pairs: the dolly format has no preference information/);
    await assert.rejects(
      convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", out: outPath(), columns: { answer: "response" }, quiet: true }),
      /--column answer=…: the dolly format has no field "answer"/,
    );
    await assert.rejects(convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "alpaca", out: outPath(), quiet: true }), /unknown data format "alpaca"/);
  });

  test("Parquet input converts like the JSONL it came from", async () => {
    const fromJsonl = outPath("a.jsonl");
    const fromParquet = outPath("b.jsonl");
    await convertFile({ input: fixture("dolly/dolly_en_fi_first8.jsonl"), format: "dolly", lang: "fi", out: fromJsonl, quiet: true });
    await convertFile({ input: fixture("parquet/dolly_en_fi_first8.zstd.parquet"), format: "dolly", lang: "fi", out: fromParquet, quiet: true });
    const strip = async (path: string) => (await collect(readRecords(path))).map(({ record }) => ({ ...record, meta: { ...record.meta, source: null } }));
    assert.deepEqual(await strip(fromParquet), await strip(fromJsonl));
  });
});

describe("kielo data convert (the real CLI)", () => {
  const node = process.execPath;
  const bin = join(REPO, "bin", "kielo.js");

  function kielo(args: string[], db: string) {
    return spawnSync(node, [bin, ...args], { encoding: "utf8", env: { ...process.env, KIELO_DB: db }, cwd: tmp.dir });
  }

  test("converts an OASST tree file, prints the summary and records the run in kielo.db", () => {
    const db = join(tmp.dir, "cli.db");
    const out = outPath("oasst.jsonl");
    const result = kielo(["data", "convert", fixture("oasst/en_tree_sample.jsonl"), "--format", "oasst", "--out", out, "--quiet"], db);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /rows in: 4\nrecords out: 4 \(4 conversations, 0 preference pairs\)\ndropped: none\nnotes: trailing-user-turn-trimmed 1\n/);
    assert.equal(readFileSync(out, "utf8").trimEnd().split("\n").length, 4);
    const store = new DatabaseSync(db);
    const runs = store.prepare("SELECT kind, status, summary_json FROM runs").all() as { kind: string; status: string; summary_json: string }[];
    store.close();
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.kind, "convert");
    assert.equal(runs[0]!.status, "done");
    assert.equal((JSON.parse(runs[0]!.summary_json) as { records_out: number }).records_out, 4);
  });

  test("a bad input exits 1 with file:line and field, records a failed run, and writes nothing", () => {
    const db = join(tmp.dir, "cli-fail.db");
    const input = join(tmp.dir, "bad-messages.jsonl");
    writeFileSync(input, '{"messages": [{"role": "user", "content": "Hi"}, {"role": "robot", "content": "Beep"}]}\n');
    const out = outPath("never.jsonl");
    const result = kielo(["data", "convert", input, "--format", "messages", "--out", out, "--quiet"], db);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^kielo: .*bad-messages\.jsonl:1 \(field messages\[1\]\.role\): unknown role "robot"/);
    assert.equal(existsSync(out), false);
    const store = new DatabaseSync(db);
    const run = store.prepare("SELECT status FROM runs").get() as { status: string };
    store.close();
    assert.equal(run.status, "failed");
  });

  test("--help lists the formats and options", () => {
    const result = kielo(["data", "convert", "--help"], join(tmp.dir, "help.db"));
    assert.equal(result.status, 0);
    for (const word of ["oasst", "dolly", "qa-context", "messages", "hh-rlhf", "helpsteer", "pairs", "--lang", "--pairs", "--limit", "--column", "--force"]) {
      assert.ok(result.stdout.includes(word), word);
    }
  });
});
