/**
 * `kielo serve` in a real browser: Debian's chromium driven by playwright-core, against the
 * server started by the real CLI on loopback, over a kielo.db made by real runs (two tiny-model
 * trainings and two IFEval evaluations). Pages load without console errors, charts draw as many
 * points as kielo.db has, the filters and the answer search work, two runs' answers to the same
 * prompts stand side by side, a real study report (`kielo study report` of a small study) is
 * listed and served with its tables and figures, a run in progress gains points without a reload,
 * and a screenshot decodes to a picture that is not blank.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { PNG } from "pngjs";
import { openStore } from "../../src/store/db.ts";
import { finishRun, recordMetric, startRun } from "../../src/store/runs.ts";
import { storeQuery } from "../runs/store-query.ts";
import { assertChromium, launchBrowser, openView, startServe, watchProblems } from "./browser-helpers.ts";
import { makeStudyReport, STUDY_NAME } from "./study-report.ts";

// The page's document, as the functions passed to waitForFunction (run in the browser) see it.
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelector(selector: string): { textContent: string | null } | null };

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

test("the dashboard in chromium", { timeout: 600_000 }, async (t) => {
  assertChromium();
  // The study (its own kielo.db, in study-runs/) runs beside the runs: its steps mostly wait on process start-up.
  const [studyDb] = await Promise.all([makeStudyReport(workspace, env), makeRuns()]);

  const { server, base } = await startServe(["--db", dbPath, "--reports", join(workspace, "study-runs")], { cwd: workspace, env });
  after(() => server.kill());
  const context = await launchBrowser();
  after(() => context.close());
  const page = await context.newPage();
  const problems = watchProblems(page);
  const open = (hash: string) => openView(page, base, hash);
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

  await t.test("a study's report is listed and served: its tables, figures and files", async () => {
    await open("#/reports");
    assert.deepEqual(await page.locator("#reports a").allTextContents(), [STUDY_NAME]);
    await page.click("#reports a");
    await page.waitForURL(`${base}reports/${STUDY_NAME}/report/`);
    assert.equal(await page.title(), `Study ${STUDY_NAME}`);
    const cells = await page.locator("td").allTextContents();
    assert.ok(cells.length > 10 && !cells.includes("not done"), cells.join(" | "));
    // Every number links to its run, listed on the page; an IFEval number is that run's in kielo.db.
    const links = await page.locator('td a[href^="#run-"]').evaluateAll((as) => as.map((a) => [a.getAttribute("href")!, a.textContent!] as const));
    assert.ok(links.length >= 4, `${links.length} numbers`);
    const studyQuery = storeQuery(studyDb);
    for (const [href, text] of links) {
      assert.equal(await page.locator(`tr${href}`).count(), 1, href);
      const [run] = studyQuery<{ kind: string; value: number | null }>("SELECT kind, (SELECT value FROM metrics WHERE run_id = runs.id AND name = 'instruction_level_strict') AS value FROM runs WHERE id = ?", Number(href.slice(5)));
      if (run!.kind === "eval-ifeval") assert.equal(text, run!.value!.toFixed(4), href);
    }
    // Its figures (training loss, IFEval per category) are inline SVG, drawn.
    const figures = page.locator("svg");
    assert.equal(await figures.count(), 2);
    for (const figure of await figures.all()) {
      const box = await figure.boundingBox();
      assert.ok(box && box.width >= 400 && box.height >= 200, JSON.stringify(box));
      assert.ok((await figure.locator("path, rect").count()) > 0);
    }
    const csv = await page.request.get(new URL("mixes.csv", page.url()).href);
    assert.equal(csv.status(), 200);
    assert.match(await csv.text(), /sft-en-fi-50pct-default/);
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
