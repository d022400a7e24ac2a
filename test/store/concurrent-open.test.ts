/**
 * kielo processes started together on a new kielo.db (a study's parallel steps, two trainings side
 * by side) must all get a migrated store: none may fail on a migration another one just applied.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { MIGRATIONS } from "../../src/store/migrations.ts";

const db = new URL("../../src/store/db.ts", import.meta.url).pathname;

function openInChild(path: string, startAt: number): Promise<{ code: number | null; stderr: string }> {
  // Each child waits for the same moment, then opens the store: the opens overlap.
  const script = `const { openStore } = await import(${JSON.stringify(db)});
while (Date.now() < ${startAt}) {}
openStore(${JSON.stringify(path)}).close();`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("close", (code) => resolve({ code, stderr }));
  });
}

test("eight processes opening one new kielo.db at once all succeed, and the schema is applied once", async () => {
  for (let round = 0; round < 3; round++) {
    const path = join(mkdtempSync(join(tmpdir(), "kielo-store-")), "kielo.db");
    const startAt = Date.now() + 1500; // after every child has loaded node:sqlite
    const results = await Promise.all(Array.from({ length: 8 }, () => openInChild(path, startAt)));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const store = new DatabaseSync(path);
    assert.equal((store.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, MIGRATIONS.length);
    assert.equal((store.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'runs'").get() as { n: number }).n, 1);
    store.close();
  }
});
