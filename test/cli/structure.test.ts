/**
 * Where things live (a design rule checked, not only written down): SQL only in src/store/, command
 * line parsing (commander) only in src/cli/, and shared tools live below all their users — the
 * import directions that would undo that (clean reaching into translate, a library reaching up into
 * the CLI) do not occur.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
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

/** The top folder under src/ of every relative import (static, re-export or dynamic) of a file. */
function importedFolders(file: { path: string; text: string }): string[] {
  const specifiers = [...file.text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return specifiers.map((spec) => relative(join(root, "src"), resolve(root, dirname(file.path), spec)).split("/")[0]!);
}

const folderOf = (path: string): string => path.split("/")[1]!;
const folders = [...new Set(files.map((f) => folderOf(f.path)))];

/** [importing folder, folders it must not import, why]. */
const forbidden: [string, string[], string][] = [
  ["clean", ["translate"], "the text tools both use live in src/text/, below both"],
  ["translate", ["clean"], "translate and clean are siblings over src/text/"],
  ["text", ["clean", "translate", "eval", "cli"], "src/text/ is shared by clean, translate and eval: it must not depend on its users"],
  ["engine", ["cli", "generate", "train", "translate", "eval"], "the engine backends are used by generate, train and eval, not the reverse"],
  ["store", folders.filter((f) => f !== "store" && f !== "util"), "the database layer sits on util only"],
  ["util", folders.filter((f) => f !== "util"), "util is the bottom: everything may use it, it uses nothing"],
  ...folders.filter((f) => f !== "cli").map((f): [string, string[], string] => [f, ["cli"], "only the CLI is above everything; nothing imports from it"]),
];

test("src/clean/ imports nothing from src/translate/ (shared tools live below all their users)", () => {
  const clean = files.filter((f) => folderOf(f.path) === "clean");
  assert.ok(clean.length > 0 && files.some((f) => folderOf(f.path) === "translate"), "src/clean/ and src/translate/ exist");
  const offenders = clean.filter((f) => importedFolders(f).includes("translate")).map((f) => f.path);
  assert.deepEqual(offenders, []);
});

test("no import goes in a forbidden direction between src/ folders", () => {
  for (const [from] of forbidden) assert.ok(folders.includes(from), `src/${from}/ exists (the table names it)`);
  const offenders = forbidden.flatMap(([from, banned, why]) =>
    files
      .filter((f) => folderOf(f.path) === from)
      .flatMap((f) => importedFolders(f).filter((to) => banned.includes(to)).map((to) => `${f.path} imports src/${to}/ (${why})`)),
  );
  assert.deepEqual(offenders, []);
});
