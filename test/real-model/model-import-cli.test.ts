/**
 * `kielo model import`: what it refuses before starting the engine (the import itself runs in
 * `npm run setup`, and engine/tests/test_gguf_import.py checks the folder it wrote against the GGUF).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REAL_MODEL_GGUF, realModelDir, ROOT } from "./model.ts";

function kielo(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, "bin/kielo.js"), "model", "import", ...args], { encoding: "utf8" });
}

test("kielo model import refuses a missing file, a wrong sha256 and an occupied --out, naming them", (t) => {
  realModelDir();
  const work = mkdtempSync(join(tmpdir(), "kielo-import-cli-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  const missing = kielo([join(work, "nothing.gguf"), "--out", join(work, "out")]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nothing\.gguf does not exist/);

  const wrongSha = kielo([REAL_MODEL_GGUF, "--out", join(work, "out"), "--sha256", "0".repeat(64)]);
  assert.equal(wrongSha.status, 1);
  assert.match(wrongSha.stderr, /sha256 is b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53, expected 0{64}/);

  const badSha = kielo([REAL_MODEL_GGUF, "--out", join(work, "out"), "--sha256", "b179"]);
  assert.equal(badSha.status, 1);
  assert.match(badSha.stderr, /--sha256 must be 64 hex digits/);

  const occupied = join(work, "occupied");
  mkdirSync(occupied);
  writeFileSync(join(occupied, "keep.txt"), "mine");
  const taken = kielo([REAL_MODEL_GGUF, "--out", occupied]);
  assert.equal(taken.status, 1);
  assert.match(taken.stderr, /occupied exists and is not empty/);
  assert.match(taken.stderr, /--force/);

  const badDtype = kielo([REAL_MODEL_GGUF, "--out", join(work, "out"), "--dtype", "fp16"]);
  assert.notEqual(badDtype.status, 0);
  assert.match(badDtype.stderr, /bf16, fp32/);
});
