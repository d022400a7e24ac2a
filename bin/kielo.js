#!/usr/bin/env node
// kielo's entry point. Written in plain JavaScript that any Node can parse, so that an old Node
// reaches the version check below instead of failing on TypeScript syntax.
//
// The project pins a current Node as an npm dependency (the `node` package), which npm links into
// node_modules/.bin. `npx kielo` and `npm test` put that folder first on PATH, so they already run
// on the pinned Node. When kielo is started some other way by an older Node, re-run it with the
// pinned binary if the install has one, otherwise say what to do.
//
// So package.json's `engines` states what this launcher needs (Node >= 18), not what kielo runs
// on: `npx kielo` checks `engines` against the Node that runs npm itself — twice, while it builds
// and while it links the npx tree — and printed npm's EBADENGINE warning block twice on an older
// system Node, although the pinned Node then ran the command.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [major, minor] = process.versions.node.split(".").map(Number);
const supported = major > 22 || (major === 22 && minor >= 18);

if (!supported) {
  const pinned = join(here, "..", "node_modules", "node", "bin", "node");
  if (existsSync(pinned)) {
    const result = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: "inherit",
    });
    process.exit(result.status ?? 1);
  }
  console.error(
    `kielo needs Node >= 22.18 (this is ${process.version}). Run \`npm ci\` in the kielo folder to ` +
      "install the pinned Node, or install a current Node.",
  );
  process.exit(1);
}

await import("../src/cli/main.ts");
