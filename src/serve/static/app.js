/* The kielo dashboard (served by `kielo serve`): plain browser JavaScript, no build step. Pages are
 * hash routes: #/ (runs), #/run/ID, #/compare?ids=A,B, #/reports. Every text from kielo.db is set as
 * textContent, never as HTML. Charts are uPlot; each chart's element carries data-points (the
 * number of points drawn), which the browser test checks against kielo.db. */
/* global document, window, location, URLSearchParams, uPlot */
"use strict";

const app = document.getElementById("app");
const REFRESH_MS = 5000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

async function api(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function num(value) {
  if (value === null || value === undefined) return "-";
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : value.toFixed(4);
}

/** A setting's value as `kielo runs compare` prints it: text as it is, a missing value as "-". */
function setting(value) {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") return num(value);
  return typeof value === "string" ? value : JSON.stringify(value);
}

function duration(seconds) {
  if (seconds === null) return "-";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.round(seconds % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function table(header, rows, attrs) {
  return el("table", attrs, el("thead", {}, el("tr", {}, header.map((h) => el("th", {}, h)))), el("tbody", {}, rows));
}

function lineChart(title, steps, values, id) {
  const box = el("div", { class: "chart", id, "data-points": String(values.length) }, el("h3", {}, title));
  new uPlot(
    { width: 420, height: 220, scales: { x: { time: false } }, series: [{ label: "step" }, { label: title, stroke: "#1d4ed8", width: 2, points: { show: values.length < 40 } }] },
    [steps, values],
    box,
  );
  return box;
}

function barChart(title, names, values, id) {
  const box = el("div", { class: "chart", id, "data-points": String(values.length) }, el("h3", {}, title));
  new uPlot(
    {
      width: Math.max(420, names.length * 70),
      height: 260,
      scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: [0, 1] } },
      axes: [{ values: (_u, ticks) => ticks.map((t) => names[t] ?? ""), space: 30, rotate: -30 }, {}],
      series: [{ label: "category" }, { label: "strict accuracy", fill: "#457b9d", stroke: "#1d3557", paths: uPlot.paths.bars({ size: [0.6] }), points: { show: false } }],
    },
    [names.map((_n, i) => i), values],
    box,
  );
  return box;
}

// ---- #/ : the runs table ----------------------------------------------------------------------

async function runsPage(params) {
  const runs = await api(`/api/runs?${params}`);
  const kinds = await api("/api/runs").then((all) => [...new Set(all.map((r) => r.kind))].sort());
  const form = el(
    "form",
    { class: "filters", id: "filters" },
    el("label", {}, "kind", el("select", { name: "kind" }, el("option", { value: "" }, "any"), kinds.map((k) => el("option", { value: k }, k)))),
    el("label", {}, "status", el("select", { name: "status" }, ["", "running", "done", "failed", "interrupted", "died"].map((s) => el("option", { value: s }, s || "any")))),
    el("label", {}, "label", el("input", { name: "label", type: "search" })),
    el("button", { type: "submit" }, "filter"),
    el("button", { type: "button", id: "compare-button", onclick: () => {
      const ids = [...document.querySelectorAll("input.pick:checked")].map((c) => c.value);
      if (ids.length >= 2) location.hash = `#/compare?ids=${ids.join(",")}`;
    } }, "compare selected"),
  );
  for (const [key, value] of params) if (form.elements[key]) form.elements[key].value = value;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const name of ["kind", "status", "label"]) if (form.elements[name].value) query.set(name, form.elements[name].value);
    location.hash = `#/?${query}`;
  });
  const rows = runs.map((run) =>
    el(
      "tr",
      { "data-run": String(run.id) },
      el("td", {}, el("input", { type: "checkbox", class: "pick", value: String(run.id) })),
      el("td", {}, el("a", { href: `#/run/${run.id}` }, String(run.id))),
      el("td", {}, run.kind),
      el("td", {}, run.label ?? "-"),
      el("td", { class: `status-${run.status}` }, run.status),
      el("td", {}, run.started_at.slice(0, 19).replace("T", " ")),
      el("td", { class: "num" }, duration(run.duration_s)),
      el("td", {}, Object.entries(run.metrics).map(([k, v]) => `${k} ${num(v)}`).join(", ")),
    ),
  );
  return [el("h1", {}, "Runs"), form, table(["", "id", "kind", "label", "status", "started (UTC)", "duration", "metrics"], rows, { id: "runs" }), el("p", {}, `${runs.length} runs`)];
}

// ---- #/run/ID ---------------------------------------------------------------------------------

const CURVES = ["loss", "eval/loss", "lr", "grad_norm", "tokens_per_s", "accuracy", "margins", "eval/accuracy", "eval/margins"];

async function runPage(id) {
  const run = await api(`/api/runs/${id}`);
  const metrics = await api(`/api/runs/${id}/metrics`);
  const parts = [el("h1", {}, `Run ${run.id}: ${run.kind}${run.label ? ` “${run.label}”` : ""}`)];
  parts.push(el("p", {}, el("span", { class: `status-${run.status}`, id: "run-status" }, run.status), ` · started ${run.started_at} · ${duration(run.duration_s)}`));
  const charts = CURVES.filter((name) => metrics[name]).map((name) => lineChart(name, metrics[name].steps, metrics[name].values, `chart-${name.replace("/", "-")}`));
  if (charts.length > 0) parts.push(el("h2", {}, "Curves"), el("div", { class: "charts" }, charts));
  parts.push(el("h2", {}, "Metrics"), table(["name", "n", "last", "min", "max"], run.metric_summaries.map((m) => el("tr", {}, el("td", {}, m.name), el("td", { class: "num" }, m.n), el("td", { class: "num" }, num(m.last)), el("td", { class: "num" }, num(m.min)), el("td", { class: "num" }, num(m.max)))), { id: "metrics" }));
  const summary = run.summary || {};
  if (summary.per_category) {
    const names = Object.keys(summary.per_category).sort();
    parts.push(el("h2", {}, "IFEval per category"));
    parts.push(table(["category", "instructions", "strict", "loose"], names.map((n) => { const b = summary.per_category[n]; return el("tr", {}, el("td", {}, n), el("td", { class: "num" }, b.instructions), el("td", { class: "num" }, num(b.strict)), el("td", { class: "num" }, num(b.loose))); }), { id: "ifeval-categories" }));
    parts.push(barChart("strict accuracy per category", names, names.map((n) => summary.per_category[n].strict), "chart-ifeval-categories"));
  }
  if (summary.per_instruction) {
    const names = Object.keys(summary.per_instruction).sort();
    parts.push(el("h2", {}, "IFEval per instruction"), table(["instruction", "n", "strict", "loose"], names.map((n) => { const b = summary.per_instruction[n]; return el("tr", {}, el("td", {}, n), el("td", { class: "num" }, b.instructions), el("td", { class: "num" }, num(b.strict)), el("td", { class: "num" }, num(b.loose))); })));
  }
  if (run.items.generations > 0 || run.items.answer_metrics > 0) parts.push(await answersSection(id));
  parts.push(el("h2", {}, "Settings"), el("pre", { class: "text" }, JSON.stringify({ inputs: run.inputs, settings: run.settings }, null, 2)));
  parts.push(el("h2", {}, "Files"), el("pre", { class: "text" }, JSON.stringify({ artefacts: run.artefacts, logs: run.logs }, null, 2)));
  return parts;
}

async function answersSection(id) {
  const section = el("section", { id: "answers" }, el("h2", {}, "Answers"));
  const body = el("div");
  const search = el("input", { type: "search", id: "answer-search", placeholder: "search prompts and answers" });
  const load = async () => {
    const { total, rows } = await api(`/api/runs/${id}/answers?limit=50&q=${encodeURIComponent(search.value)}`);
    body.replaceChildren(
      el("p", { id: "answer-count" }, `${total} answers${total > rows.length ? ` (first ${rows.length})` : ""}`),
      table(["key", "prompt", "answer", "language", "metrics"], rows.map((r) => el("tr", {}, el("td", {}, r.key), el("td", {}, el("pre", { class: "text" }, r.prompt)), el("td", {}, el("pre", { class: "text" }, r.answer)), el("td", {}, r.language ?? "-"), el("td", {}, el("pre", { class: "text" }, JSON.stringify(r.metrics))))), { id: "answer-table" }),
    );
  };
  search.addEventListener("input", () => void load().catch(showError));
  section.append(search, body);
  await load();
  return section;
}

// ---- #/compare?ids=A,B ------------------------------------------------------------------------

async function comparePage(params) {
  const c = await api(`/api/compare?ids=${encodeURIComponent(params.get("ids") || "")}`);
  const heads = c.runs.map((r) => `#${r.id} ${r.label ?? r.kind}`);
  const parts = [el("h1", {}, `Compare ${heads.join(" · ")}`)];
  parts.push(el("h2", {}, "Settings that differ"), table(["setting", ...heads], c.settings.map((s) => el("tr", {}, el("td", {}, s.key), s.values.map((v) => el("td", {}, setting(v))))), { id: "compare-settings" }));
  parts.push(el("h2", {}, "Metrics"), table(["metric", ...heads], c.metrics.map((m) => el("tr", {}, el("td", {}, m.name), m.values.map((v) => el("td", { class: "num" }, num(v))))), { id: "compare-metrics" }));
  if (c.ifeval_categories) parts.push(el("h2", {}, "IFEval per category (strict)"), table(["category", ...heads], c.ifeval_categories.map((row) => el("tr", {}, el("td", {}, row.category), row.values.map((v) => el("td", { class: "num" }, v ? num(v.strict) : "-"))))));
  if (c.text_metrics) parts.push(el("h2", {}, "Text metrics (mean, p10, p90)"), table(["field", ...heads], c.text_metrics.map((row) => el("tr", {}, el("td", {}, row.field), row.values.map((v) => el("td", { class: "num" }, v ? `${num(v.mean)} (${num(v.p10)}, ${num(v.p90)})` : "-"))))));
  if (c.runs.length >= 2) {
    const [a, b] = c.runs;
    const pairs = await api(`/api/paired-answers?a=${a.id}&b=${b.id}&limit=50`);
    if (pairs.length > 0) parts.push(el("h2", {}, "Same prompt, two answers"), table(["prompt", heads[0], heads[1]], pairs.map((p) => el("tr", {}, el("td", {}, el("pre", { class: "text" }, p.prompt)), el("td", {}, el("pre", { class: "text" }, p.a)), el("td", {}, el("pre", { class: "text" }, p.b)))), { id: "paired-answers" }));
  }
  return parts;
}

// ---- #/reports --------------------------------------------------------------------------------

async function reportsPage() {
  const reports = await api("/reports/");
  return [el("h1", {}, "Study reports"), el("ul", { id: "reports" }, reports.map((r) => el("li", {}, el("a", { href: r.url }, r.name))))];
}

// ---- routing ----------------------------------------------------------------------------------

function showError(error) {
  app.replaceChildren(el("p", { class: "error" }, String(error.message || error)));
}

async function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  try {
    let parts;
    const run = /^\/run\/(\d+)$/.exec(path);
    if (run) parts = await runPage(run[1]);
    else if (path === "/compare") parts = await comparePage(params);
    else if (path === "/reports") parts = await reportsPage();
    else parts = await runsPage(params);
    app.replaceChildren(...parts);
    document.body.dataset.ready = hash;
    // A run in progress: read kielo.db again in a few seconds (the same page, if still shown).
    if (document.querySelector(".status-running") && !document.activeElement?.matches("input, select")) {
      setTimeout(() => {
        if ((location.hash.replace(/^#/, "") || "/") === hash) void route();
      }, REFRESH_MS);
    }
  } catch (error) {
    showError(error);
    document.body.dataset.ready = hash;
  }
}

async function start() {
  const info = await api("/api/info");
  document.getElementById("db-path").textContent = info.db;
  document.getElementById("reports-link").hidden = !info.reports;
  window.addEventListener("hashchange", () => void route());
  await route();
}

void start();
