// A mix and its manifest land together: AtomicFileWriter.ready() finishes a file without renaming
// it, so two files can be placed in one tick (src/mix/mix.ts), where Ctrl-C cannot split them.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openAtomicFile } from "../../src/util/atomic.ts";

const dir = mkdtempSync(join(tmpdir(), "kielo-pair-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("ready() leaves the complete file beside its target until it is placed", async () => {
  const data = await openAtomicFile(join(dir, "a.jsonl"));
  const meta = await openAtomicFile(join(dir, "a.manifest.json"));
  await data.write('{"id": 1}\n');
  await meta.write("{}\n");
  const placeData = await data.ready();
  const placeMeta = await meta.ready();
  assert.equal(existsSync(join(dir, "a.jsonl")), false);
  assert.equal(existsSync(join(dir, "a.manifest.json")), false);
  assert.equal(readdirSync(dir).length, 2); // the two temporaries, complete
  placeData();
  placeMeta();
  assert.deepEqual(readdirSync(dir).sort(), ["a.jsonl", "a.manifest.json"]);
  assert.equal(readFileSync(join(dir, "a.jsonl"), "utf8"), '{"id": 1}\n');
  await assert.rejects(data.ready(), /already committed or aborted/);
});

test("abort() after ready() removes the temporary and places nothing", async () => {
  const sub = mkdtempSync(join(dir, "b-"));
  const data = await openAtomicFile(join(sub, "b.jsonl"));
  await data.write("x\n");
  await data.ready();
  await data.abort();
  assert.deepEqual(readdirSync(sub), []);
});
