/**
 * `kielo serve` in a real browser: Debian's chromium driven by playwright-core, against the
 * server started by the real CLI on loopback, over a kielo.db made by real runs (two tiny-model
 * trainings and two IFEval evaluations). Pages load without console errors, charts draw as many
 * points as kielo.db has, the filters and the answer search work, two runs' answers to the same
 * prompts stand side by side, a run in progress gains points without a reload, and a screenshot
 * decodes to a picture that is not blank.
 *
 * chromium is installed by scripts/setup-system.mjs (`npm run setup` as root, as on CI); without
 * it the test fails, saying so.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { PNG } from "pngjs";
import { openStore } from "../../src/store/db.ts";
import { finishRun, recordMetric, startRun } from "../../src/store/runs.ts";
import { storeQuery } from "../runs/store-query.ts";

// The page's document, as the functions passed to waitForFunction (run in the browser) see it.
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelector(selector: string): { textContent: string | null } | null };

const CHROMIUM = process.env["KIELO_CHROMIUM"] ?? "/usr/bin/chromium";
const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");
const model = join(root, "fixtures", "models", "stories260K", "hf");
const examples = join(root, "examples", "tiny-train");
const ifeval = join(root, "test", "fixtures", "ifeval", "sample");
const workspace = mkdtempSync(join(tmpdir(), "kielo-serve-browser-"));
const dbPath = join(workspace, "kielo.db");
const env = { ...process.env, KIELO_DB: dbPath, OMP_NUM_THREADS: "1" };


function kieloRun(args: string[]): Promise<void> {
  const child = spawn(process.execPath, [kielo, ...args], { cwd: workspace, env });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`kielo ${args.join(" ")} exited with ${code}: ${stderr}`))));
  });
}

const query = storeQuery(dbPath);

/**
 * The runs: two trainings (different learning rates) and two IFEval evaluations of different
 * answers. Each pair runs at once (the trainings use one thread each); the run ids follow the order below.
 */
async function makeRuns(): Promise<void> {
  const recipes: string[] = [];
  for (const [name, lr] of [["first", 2e-3], ["second", 1e-3]] as const) {
    const recipe = join(workspace, `${name}.yaml`);
    writeFileSync(
      recipe,
      JSON.stringify({
        method: "sft",
        model,
        dtype: "fp32",
        data: { train: join(examples, "sft-fi.jsonl"), eval_fraction: 0.125, template: "llama-2", policy: "assistant", max_length: 128 },
        adapter: { type: "lora", r: 4, alpha: 8, dropout: 0 },
        training: { epochs: 1, micro_batch_size: 4, global_batch_size: 8, lr, save_every_steps: 100, eval_every_steps: 2, seed: 1 },
        output: join(workspace, "runs", name),
      }),
    );
    recipes.push(recipe);
  }
  // Started one after the other (so that the first gets the first run id), then trained together.
  const firstTraining = kieloRun(["train", "sft", recipes[0]!, "--quiet"]);
  await waitForRuns(1);
  await Promise.all([firstTraining, kieloRun(["train", "sft", recipes[1]!, "--quiet"])]);
  const shouting = join(workspace, "shouting.jsonl");
  const lines = readFileSync(join(ifeval, "responses.jsonl"), "utf8").trim().split("\n");
  writeFileSync(shouting, lines.map((line) => { const r = JSON.parse(line) as { prompt: string; response: string }; return JSON.stringify({ ...r, response: r.response.toUpperCase() }); }).join("\n") + "\n");
  await kieloRun(["eval", "ifeval", "--prompts", join(ifeval, "prompts.jsonl"), "--responses", join(ifeval, "responses.jsonl"), "--label", "sample"]);
  await kieloRun(["eval", "ifeval", "--prompts", join(ifeval, "prompts.jsonl"), "--responses", shouting, "--label", "shouting"]);
}

async function waitForRuns(n: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if (existsSync(dbPath) && query<{ n: number }>("SELECT COUNT(*) AS n FROM runs")[0]!.n >= n) return;
    } catch {
      // kielo.db is being created
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${n} runs recorded`);
}

test("the dashboard in chromium", async (t) => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: install Debian's chromium (\`npm run setup\` as root) or set KIELO_CHROMIUM`);
  await makeRuns();
  const reports = join(workspace, "reports");
  mkdirSync(join(reports, "study-a"), { recursive: true });
  writeFileSync(join(reports, "study-a", "index.html"), "<!doctype html><title>study a</title><h1 id=report>study a</h1>");

  const server = spawn(process.execPath, [kielo, "serve", "--db", dbPath, "--port", "0", "--reports", reports], { cwd: workspace, env });
  after(() => server.kill());
  const base = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (match) resolve(match[0]);
    });
    server.once("close", (code) => reject(new Error(`kielo serve exited with ${code}`)));
  });

  // launchPersistentContext: a fresh user-data-dir; playwright adds --headless itself.
  const context: BrowserContext = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "kielo-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  after(() => context.close());
  const page: Page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  const open = async (hash: string) => {
    await page.goto(`${base}${hash}`);
    await page.waitForFunction((expected) => document.body.dataset["ready"] === expected, hash.replace(/^#/, "") || "/");
    assert.equal(await page.locator(".error").count(), 0, `error shown on ${hash}`);
  };
  const runs = query<{ id: number; kind: string; label: string }>("SELECT id, kind, label FROM runs ORDER BY id");
  const [first, second, sample, shouting] = runs;

  await t.test("the runs table lists every run; the filters narrow it", async () => {
    await open("#/");
    assert.equal(await page.locator("#runs tbody tr").count(), 4);
    await page.selectOption("select[name=kind]", "sft");
    await page.click("#filters button[type=submit]");
    await page.waitForFunction(() => document.body.dataset["ready"] === "/?kind=sft");
    assert.deepEqual(await page.locator("#runs tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-run"))), [String(second!.id), String(first!.id)]);
    await page.fill("input[name=label]", "seco");
    await page.click("#filters button[type=submit]");
    await page.waitForFunction(() => document.body.dataset["ready"] === "/?kind=sft&label=seco");
    assert.equal(await page.locator("#runs tbody tr").count(), 1);
    await open("#/?status=died");
    assert.equal(await page.locator("#runs tbody tr").count(), 0);
  });

  await t.test("a training's curves have as many points as kielo.db", async () => {
    await open(`#/run/${first!.id}`);
    for (const [chart, metric] of [["chart-loss", "loss"], ["chart-eval-loss", "eval/loss"], ["chart-lr", "lr"], ["chart-grad_norm", "grad_norm"]]) {
      const [{ n }] = query<{ n: number }>("SELECT COUNT(*) AS n FROM metrics WHERE run_id = ? AND name = ?", first!.id, metric!) as [{ n: number }];
      assert.ok(n > 1, metric);
      assert.equal(await page.locator(`#${chart}`).getAttribute("data-points"), String(n), chart);
      assert.equal(await page.locator(`#${chart} canvas`).count(), 1, chart);
    }
    const shot = PNG.sync.read(await page.screenshot({ fullPage: true }));
    const colours = new Set<number>();
    for (let i = 0; i < shot.data.length; i += 4) colours.add(shot.data.readUInt32BE(i));
    assert.ok(shot.width >= 800 && shot.height >= 600, `${shot.width}×${shot.height}`);
    assert.ok(colours.size > 50, `only ${colours.size} colours: the page looks blank`);
  });

  await t.test("an IFEval run: per-category table and chart, answers with search", async () => {
    await open(`#/run/${sample!.id}`);
    const summary = JSON.parse(query<{ summary_json: string }>("SELECT summary_json FROM runs WHERE id = ?", sample!.id)[0]!.summary_json) as { per_category: Record<string, unknown> };
    const categories = Object.keys(summary.per_category).length;
    assert.ok(categories > 3);
    assert.equal(await page.locator("#ifeval-categories tbody tr").count(), categories);
    assert.equal(await page.locator("#chart-ifeval-categories").getAttribute("data-points"), String(categories));
    assert.equal(await page.locator("#answer-table tbody tr").count(), 30);
    const matching = query<{ n: number }>("SELECT COUNT(*) AS n FROM generations WHERE run_id = ? AND (instr(lower(prompt), 'joke') > 0 OR instr(lower(response), 'joke') > 0)", sample!.id)[0]!.n;
    assert.ok(matching > 0 && matching < 30);
    await page.fill("#answer-search", "joke");
    await page.waitForFunction((n) => document.querySelector("#answer-count")?.textContent === `${n} answers`, matching);
    assert.equal(await page.locator("#answer-table tbody tr").count(), matching);
  });

  await t.test("two runs side by side: settings, metrics, the same prompts' answers", async () => {
    await open(`#/compare?ids=${first!.id},${second!.id}`);
    const lr = await page.locator("#compare-settings tr", { hasText: "recipe.training.lr" }).locator("td").allTextContents();
    assert.deepEqual(lr, ["recipe.training.lr", "0.0020", "0.0010"]);
    assert.ok((await page.locator("#compare-metrics tbody tr").count()) > 3);
    await open(`#/compare?ids=${sample!.id},${shouting!.id}`);
    assert.equal(await page.locator("#paired-answers tbody tr").count(), 30);
    const [, a, b] = await page.locator("#paired-answers tbody tr").first().locator("td").allTextContents();
    assert.equal(b, a!.toUpperCase());
  });

  await t.test("study reports are listed and served", async () => {
    await open("#/reports");
    await page.click("#reports a");
    await page.waitForSelector("#report");
    assert.equal(await page.title(), "study a");
  });

  await t.test("a run in progress is read again: new points appear without a reload", async () => {
    // This process records a run as a training does (its pid is alive: the run is running).
    const db = openStore(dbPath);
    const live = startRun(db, "sft", { label: "live" });
    recordMetric(db, live, "loss", 2.5, 1);
    recordMetric(db, live, "loss", 2.25, 2);
    await open(`#/run/${live}`);
    assert.equal(await page.locator("#run-status").textContent(), "running");
    assert.equal(await page.locator("#chart-loss").getAttribute("data-points"), "2");
    recordMetric(db, live, "loss", 2.0, 3);
    await page.waitForSelector('#chart-loss[data-points="3"]', { timeout: 15_000 });
    finishRun(db, live, "done");
    db.close();
  });

  assert.deepEqual(problems, []);
});
