/**
 * `kielo data qa-from-docs --backend engine` with the real tiny model (stories260K) on the CPU.
 * That model only writes children's stories, never JSON, so no valid pairs can come from it; this
 * test checks what can be checked with it: the plain-text prompt goes through the engine and back,
 * an invalid reply is asked again, a run in which no chunk gets valid pairs fails with a message
 * naming the model, the file, the chunk and the start of the reply, and writes nothing; and the
 * resume path — pairs already committed to kielo.db for a chunk (as a run killed after that chunk
 * leaves them) are reused without asking the engine, while the chunk that failed is asked again.
 * Valid pairs end to end are checked with the openai backend (qa-from-docs.test.ts).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { chunkBlocks } from "../../src/qa/chunk.ts";
import { readDocument } from "../../src/qa/documents.ts";
import { qaChunkHash } from "../../src/qa/pairs.ts";
import { openStore } from "../../src/store/db.ts";
import { listRuns } from "../../src/store/runs.ts";
import { getCachedQaPairs, putCachedQaPairs } from "../../src/store/scorer-cache.ts";
import { loadTokenizer } from "../../src/tokenize/tokenizer-folder.ts";

const KIELO = fileURLToPath(new URL("../../bin/kielo.js", import.meta.url));
const MODEL = fileURLToPath(new URL("../../fixtures/models/stories260K/hf", import.meta.url));

it("qa-from-docs --backend engine: asks again, fails clearly when no chunk gets pairs, resumes from kielo.db", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kielo-qa-engine-"));
  const doc = join(dir, "notes.txt");
  writeFileSync(doc, "A sauna is a small room heated to seventy degrees.\n\nWater thrown on the hot stones makes steam.\n");
  const chunks = await chunkBlocks(doc, await readDocument(doc), loadTokenizer(MODEL).tokenizer, 32);
  assert.equal(chunks.length, 2);
  const args = (maxInvalid: number) => [
    "data", "qa-from-docs", doc, "--out", join(dir, "qa.jsonl"), "--backend", "engine", "--model", MODEL, "--device", "cpu",
    "--max-tokens", "12", "--chunk-tokens", "32", "--max-invalid", String(maxInvalid), "--db", join(dir, "kielo.db"), "--quiet",
  ];

  const failed = spawnSync(process.execPath, [KIELO, ...args(1)], { encoding: "utf8" });
  assert.equal(failed.status, 1, failed.stderr);
  assert.equal(failed.stderr.match(/2 chunks got a reply that is not a valid JSON list of pairs; asking again/g)?.length, 1);
  assert.match(
    failed.stderr,
    /stories260K\/hf wrote no valid JSON list of question\/answer pairs for any of the 2 chunks, after 2 attempts each \(.*notes\.txt chunk 1: no JSON in the reply; the reply began ".+"\); nothing was written/,
  );
  assert.match(failed.stderr, /use an instruction-following model/);
  assert.equal(existsSync(join(dir, "qa.jsonl")), false);

  const db = openStore(join(dir, "kielo.db"));
  const [run] = listRuns(db, "qa-from-docs");
  assert.equal(run!.status, "failed");
  const cacheKey = (JSON.parse(run!.config_json) as { cache_key: string }).cache_key;
  // Invalid replies are not stored: the next run asks for those chunks again.
  assert.deepEqual(chunks.map((chunk) => getCachedQaPairs(db, cacheKey, qaChunkHash(chunk))), [undefined, undefined]);
  // What a run killed right after committing the first chunk would have left behind.
  const pair = { question: "What is a sauna heated to?", answer: "Seventy degrees." };
  putCachedQaPairs(db, cacheKey, qaChunkHash(chunks[0]!), [pair]);
  db.close();

  const resumed = spawnSync(process.execPath, [KIELO, ...args(0)], { encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /1 documents → 2 chunks \(1 from the cache, 1 skipped\) → 1 pairs, 0 near-duplicate questions removed → 1 records/);
  assert.match(resumed.stderr, /skipped .*notes\.txt chunk 2: no valid pairs after 1 attempt \(no JSON in the reply; the reply began ".+"\)/);
  assert.doesNotMatch(resumed.stderr, /asking again/);
  const [record] = readFileSync(join(dir, "qa.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { messages: { content: string }[] });
  assert.match(record!.messages[1]!.content, /^\[context\]: A sauna is a small room heated to seventy degrees\. \[\/context\]\n\[question\] {2}What is a sauna heated to\? \[\/question\]$/);
  assert.equal(record!.messages[2]!.content, pair.answer);
});
