/**
 * `kielo serve` over HTTP on loopback, with a real kielo.db: it reads the store live and
 * read-only, and every bad request (unknown run, malformed id or query, a path outside the app or
 * the reports folder, a write) gets a 4xx with a message, never a stack trace.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { startServer } from "../../src/serve/server.ts";
import { openStore } from "../../src/store/db.ts";
import { insertAnswerMetrics } from "../../src/store/answer-metrics.ts";
import { insertGenerations } from "../../src/store/generations.ts";
import { finishRun, recordMetric, startRun } from "../../src/store/runs.ts";

const workspace = mkdtempSync(join(tmpdir(), "kielo-serve-http-"));
const dbPath = join(workspace, "kielo.db");
const db = openStore(dbPath);
const runId = startRun(db, "sft", { label: "tiny", config: { recipe: { training: { lr: 0.001 } } } });
for (let step = 1; step <= 3; step++) recordMetric(db, runId, "loss", 3 - step / 2, step);
finishRun(db, runId, "done", { step: 3 });
// A generation run whose answers `kielo generate --metrics` scored (an eval-text run pointing back at it).
const generateId = startRun(db, "generate", { label: "gen" });
insertGenerations(db, generateId, [
  { key: "p1", prompt: "Kerro kissoista", response: "Kissat nukkuvat paljon.", meta: { finish_reason: "stop" } },
  { key: "p2", prompt: "Tell me about dogs", response: "Dogs bark.", meta: { finish_reason: "length" } },
]);
finishRun(db, generateId, "done");
const textId = startRun(db, "eval-text", { label: "gen" });
insertAnswerMetrics(db, textId, [
  { answer_key: "p1", model: "gen", source_run_id: generateId, prompt: "Kerro kissoista", answer: "Kissat nukkuvat paljon.", readability_lang: "fi", answer_lang: "fi", metrics: { words: 3 }, scores: {}, versions: {} },
]);
finishRun(db, textId, "done");

const reports = join(workspace, "reports");
mkdirSync(join(reports, "study-a"), { recursive: true });
writeFileSync(join(reports, "study-a", "index.html"), "<h1>study a</h1>");
// As `kielo study report` writes them: a study's work dir (the page in report/) and an --out folder.
mkdirSync(join(reports, "study-b", "report"), { recursive: true });
writeFileSync(join(reports, "study-b", "report", "report.html"), "<h1>study b</h1>");
mkdirSync(join(reports, "study-c"));
writeFileSync(join(reports, "study-c", "report.html"), "<h1>study c</h1>");
writeFileSync(join(workspace, "secret.txt"), "not to be served");
symlinkSync(join(workspace, "secret.txt"), join(reports, "study-a", "link-out.txt"));

const server = await startServer({ db: dbPath, host: "127.0.0.1", port: 0, reports });
const port = (server.address() as AddressInfo).port;
after(() => {
  server.close();
  db.close();
});

/** A raw request: the path is sent as written (fetch would normalise `..` away). */
function get(path: string, method = "GET"): Promise<{ status: number; type: string; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      const location = response.headers.location;
      response.on("end", () => resolve({ status: response.statusCode!, type: String(response.headers["content-type"]), body, ...(location === undefined ? {} : { location }) }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("study reports: index.html or report.html, in the folder or in a work dir's report/", async () => {
  assert.deepEqual(JSON.parse((await get("/reports/")).body), [
    { name: "study-a", url: "/reports/study-a/" },
    { name: "study-b", url: "/reports/study-b/report/" },
    { name: "study-c", url: "/reports/study-c/" },
  ]);
  assert.equal((await get("/reports/study-b/report/")).body, "<h1>study b</h1>");
  assert.equal((await get("/reports/study-c/")).body, "<h1>study c</h1>");
  // Without the final "/" the page's relative links (its CSV and SVG files) would miss: redirected.
  assert.deepEqual(await get("/reports/study-c"), { status: 301, type: "undefined", body: "", location: "/reports/study-c/" });
});

test("the API reads kielo.db live", async () => {
  const runs = JSON.parse((await get("/api/runs?kind=sft")).body) as { id: number; status: string; metrics: Record<string, number> }[];
  assert.deepEqual(runs.map((r) => [r.id, r.status, r.metrics["loss"]]), [[runId, "done", 1.5]]);
  recordMetric(db, runId, "eval/loss", 1.25, 3);
  const metrics = JSON.parse((await get(`/api/runs/${runId}/metrics`)).body) as Record<string, { steps: number[]; values: number[] }>;
  assert.deepEqual(metrics["loss"], { steps: [1, 2, 3], values: [2.5, 2, 1.5] });
  assert.deepEqual(metrics["eval/loss"], { steps: [3], values: [1.25] });
  assert.equal((await get("/reports/study-a/")).body, "<h1>study a</h1>");
  const all = JSON.parse((await get(`/api/runs/${generateId}/answers`)).body) as { total: number; rows: { key: string; language: string | null; metrics: Record<string, unknown> }[] };
  assert.deepEqual(all.rows.map((r) => [r.key, r.language, r.metrics]), [["p1", "fi", { finish_reason: "stop", words: 3 }], ["p2", null, { finish_reason: "length" }]]);
  const found = JSON.parse((await get(`/api/runs/${generateId}/answers?q=BARK`)).body) as { total: number; rows: { key: string }[] };
  assert.deepEqual([found.total, found.rows.map((r) => r.key)], [1, ["p2"]]);
  assert.equal((await get("/", "HEAD")).status, 200);
  assert.match((await get("/static/uplot.js")).body, /uPlot/);
});

test("bad requests get 4xx with a message, never a stack trace", async () => {
  const cases: [string, number, RegExp, string?][] = [
    ["/api/runs/999", 404, /no run with id 999/],
    ["/api/runs/abc", 400, /run id must be a number/],
    ["/api/runs/999/metrics", 404, /no run with id 999/],
    ["/api/runs/1/nothing", 404, /no such API/],
    ["/api/runs?limit=abc", 400, /limit must be an integer/],
    ["/api/runs?limit=0", 400, /limit must be an integer ≥ 1/],
    ["/api/runs?status=sleeping", 400, /status must be one of/],
    ["/api/runs?since=yesterday", 400, /since must be a date/],
    [`/api/runs/${runId}/answers?offset=-1`, 400, /offset must be an integer/],
    ["/api/compare", 400, /missing parameter ids/],
    [`/api/compare?ids=${runId}`, 400, /at least two run ids/],
    [`/api/compare?ids=${runId},999`, 404, /no run with id 999/],
    ["/api/paired-answers?a=x&b=1", 400, /run id must be a number/],
    ["/api/runs/%E0%A4%A", 400, /malformed URL/],
    ["/api/nope", 404, /no such API/],
    ["/etc/passwd", 404, /not found/],
    ["/static/../package.json", 404, /not found/],
    ["/static/%2e%2e/%2e%2e/package.json", 404, /not found/],
    ["/reports/../kielo.db", 404, /not found/],
    // Dot segments are resolved as URLs are: these end outside /reports/, where nothing is served.
    ["/reports/%2e%2e/kielo.db", 404, /not found/],
    ["/reports/study-a/%2e%2e/%2e%2e/secret.txt", 404, /not found/],
    // An encoded slash survives URL parsing: the reports folder's own check refuses it.
    ["/reports/study-a/..%2F..%2Fsecret.txt", 400, /outside the reports folder/],
    ["/reports/..%2Fkielo.db", 400, /outside the reports folder/],
    ["/reports/study-a/link-out.txt", 403, /outside the reports folder/],
    ["/reports/study-a/missing.html", 404, /not found/],
    ["/api/runs", 405, /read-only/, "POST"],
    [`/api/runs/${runId}`, 405, /read-only/, "DELETE"],
  ];
  for (const [path, status, message, method] of cases) {
    const response = await get(path, method);
    assert.equal(response.status, status, `${method ?? "GET"} ${path}: ${response.body}`);
    assert.match(response.body, message, path);
    assert.doesNotMatch(response.body, /\n\s+at |Error:|internal error/, path);
    if (path.startsWith("/api/")) assert.match(response.type, /application\/json/, path);
  }
});
