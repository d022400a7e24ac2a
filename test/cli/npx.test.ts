/**
 * `npx kielo` on an older system Node (the pinned Node runs the command): no npm EBADENGINE warning.
 * npm checks package.json's `engines` against the Node that runs npm; it states the launcher's own
 * needs (see bin/kielo.js). Runs where the system has a Node older than the one kielo pins.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const systemNode = ["/usr/bin/node", "/usr/local/bin/node"].find((path) => existsSync(path));
const version = systemNode ? spawnSync(systemNode, ["--version"], { encoding: "utf8" }).stdout.trim() : "";
const [major, minor] = version.replace(/^v/, "").split(".").map(Number) as [number, number];
const older = systemNode !== undefined && (major < 22 || (major === 22 && minor < 18));

test("npx kielo on an older system Node: the command runs, and npm prints no EBADENGINE warning", { skip: older ? false : `no system Node older than 22.18 (found ${version || "none"})` }, () => {
  const cache = mkdtempSync(join(tmpdir(), "kielo-npx-cache-"));
  try {
    const bin = join(systemNode!, "..");
    // A fresh npm cache: npx installs the local package into it, which is when it checks engines.
    const result = spawnSync(join(bin, "npx"), ["kielo", "--version"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:/usr/bin:/bin`, npm_config_cache: cache, npm_config_offline: "true", npm_config_update_notifier: "false" },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), JSON.parse(spawnSync(process.execPath, ["-p", `JSON.stringify(require(${JSON.stringify(join(root, "package.json"))}).version)`], { encoding: "utf8" }).stdout));
    assert.doesNotMatch(result.stderr, /EBADENGINE/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
