/**
 * Where things live (a design rule checked, not only written down): SQL only in src/store/, command
 * line parsing (commander) only in src/cli/.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

const files = sources(join(root, "src")).map((path) => ({ path: relative(root, path), text: readFileSync(path, "utf8") }));

test("SQL statements are only in src/store/", () => {
  const sql = /\.(prepare|exec)\(\s*[`"']\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|BEGIN|COMMIT|ROLLBACK)/i;
  const outside = files.filter((f) => !f.path.startsWith("src/store/") && sql.test(f.text)).map((f) => f.path);
  assert.deepEqual(outside, []);
});

test("command-line parsing (commander) is only in src/cli/", () => {
  const outside = files.filter((f) => !f.path.startsWith("src/cli/") && /from "commander"/.test(f.text)).map((f) => f.path);
  assert.deepEqual(outside, []);
});
