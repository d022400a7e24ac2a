/**
 * What the browser tests share: `kielo serve` started by the real CLI on a free loopback port,
 * Debian's chromium launched by playwright-core, and a page that records every console error,
 * page error and failed request, so that a test can demand there were none.
 *
 * chromium is installed by scripts/setup-system.mjs (`npm run setup` as root, as on CI); without
 * it the tests fail, saying so.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

// The page's document, as the functions passed to waitForFunction (run in the browser) see it.
declare const document: { body: { dataset: Record<string, string | undefined> } };

export const CHROMIUM = process.env["KIELO_CHROMIUM"] ?? "/usr/bin/chromium";
const kielo = join(new URL("../../", import.meta.url).pathname, "bin", "kielo.js");

export function assertChromium(): void {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: install Debian's chromium (\`npm run setup\` as root) or set KIELO_CHROMIUM`);
}

/** `kielo serve --port 0 …`; resolves with the server and the base URL it prints. */
export async function startServe(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ server: ChildProcess; base: string }> {
  const server = spawn(process.execPath, [kielo, "serve", "--port", "0", ...args], options);
  let stderr = "";
  server.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (match) resolve(match[0]);
    });
    server.once("close", (code) => reject(new Error(`kielo serve exited with ${code}: ${stderr}`)));
  });
  return { server, base };
}

/** A headless chromium with a fresh profile; playwright adds --headless itself. */
export function launchBrowser(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "kielo-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Collects console errors, page errors and failed requests of the page into `problems`. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  return problems;
}

/** Opens a view of the dashboard and waits until the page says it has drawn it, with no error shown. */
export async function openView(page: Page, base: string, hash: string): Promise<void> {
  await page.goto(`${base}${hash}`);
  await page.waitForFunction((expected) => document.body.dataset["ready"] === expected, hash.replace(/^#/, "") || "/");
  assert.equal(await page.locator(".error").count(), 0, `error shown on ${hash}`);
}
