/**
 * `kielo study report`: a folder with the tables as Markdown (report.md), one CSV per table, the
 * charts as SVG files, and one self-contained HTML page (report.html) holding all of it. Numbers
 * link to their kielo.db run (`#run-<id>` on the page, which lists every run used).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";
import { openStore } from "../../store/db.ts";
import { runById } from "../../store/study.ts";
import { writeFileAtomic } from "../../util/atomic.ts";
import type { Plan } from "../plan.ts";
import { barChart, lineChart } from "./svg.ts";
import { collect, type ReportCell, type ReportData, type Table } from "./tables.ts";

const fmt = (c: ReportCell): string => (c.state === "value" ? (c.value === null ? "—" : Number.isInteger(c.value) ? String(c.value) : c.value.toFixed(4)) : c.state);
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export async function writeReport(plan: Plan, hashes: Map<string, string>, out: string): Promise<string[]> {
  const db = openStore();
  const data = collect(db, plan, hashes);
  const runs = data.runIds.map((id) => runById(db, id)).filter((r) => r !== undefined);
  db.close();
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  const put = async (name: string, text: string) => {
    await writeFileAtomic(join(out, name), text);
    written.push(join(out, name));
  };
  const charts = chartsOf(plan, data);
  for (const t of [...data.tables, ...(data.textMetrics ? [data.textMetrics] : [])]) await put(`${t.id}.csv`, csv(t));
  for (const c of charts) await put(c.file, c.svg);
  await put("report.md", markdown(plan, data, charts));
  await put("report.html", html(plan, data, charts, runs.map((r) => ({ id: r.id, kind: r.kind, label: r.label ?? "", status: r.status, started: r.started_at, ended: r.ended_at ?? "" }))));
  return written;
}

function csv(t: Table): string {
  const header = [...t.keys, ...t.columns.flatMap((c) => [c, `${c} run`])];
  const rows = t.rows.map((r) => [...r.keys, ...r.cells.flatMap((c) => (c.state === "value" ? [c.value === null ? "" : String(c.value), c.runId === null ? "" : String(c.runId)] : [c.state, ""]))]);
  return stringify([header, ...rows]);
}

interface Chart {
  file: string;
  title: string;
  svg: string;
}

function chartsOf(plan: Plan, data: ReportData): Chart[] {
  const charts: Chart[] = [];
  for (const lang of Object.keys(plan.study.eval.ifeval)) {
    const rows = data.categories.filter((c) => c.lang === lang);
    if (rows.length === 0) continue;
    const groups = [...new Set(rows.flatMap((r) => Object.keys(r.values)))].sort();
    const title = `IFEval ${lang}: strict accuracy per category`;
    charts.push({ file: `ifeval-categories-${lang}.svg`, title, svg: barChart(title, groups, rows.map((r) => ({ name: `${r.model} (run ${r.runId})`, values: groups.map((g) => r.values[g] ?? null) }))) });
  }
  for (const kind of ["sft", "dpo"]) {
    const curves = data.curves.filter((c) => c.kind === kind);
    if (curves.length === 0) continue;
    const title = `${kind.toUpperCase()} training loss`;
    charts.push({ file: `loss-${kind}.svg`, title, svg: lineChart(title, curves.map((c) => ({ name: `${c.model} (run ${c.runId})`, points: c.points }))) });
  }
  return charts;
}

function markdownTable(t: Table): string {
  const cell = (c: ReportCell) => (c.state === "value" && c.runId !== null ? `${fmt(c)} ([run ${c.runId}](#run-${c.runId}))` : fmt(c));
  const lines = [`| ${[...t.keys, ...t.columns].join(" | ")} |`, `| ${[...t.keys, ...t.columns].map(() => "---").join(" | ")} |`];
  for (const r of t.rows) lines.push(`| ${[...r.keys, ...r.cells.map(cell)].join(" | ")} |`);
  return lines.join("\n");
}

function intro(plan: Plan, data: ReportData): string[] {
  const s = plan.study;
  return [
    `Base model \`${s.model}\`; target language **${s.target}**. Numbers are from kielo.db; each links to the run that produced it.`,
    "IFEval columns: strict instruction-level accuracy. Share: answers detected as the target language (langdetect). Held-out loss: `kielo eval loss` of each model on the held-out records (mean negative log-likelihood of their replies, rendered as the SFT recipe renders them).",
    ...(data.choice ? [`DPO started from **${data.choice.chosen}** (best by ${data.choice.metric}).`] : []),
  ];
}

function markdown(plan: Plan, data: ReportData, charts: Chart[]): string {
  const parts = [`# Study ${plan.study.name}`, "", ...(plan.study.description ? [plan.study.description.trim(), ""] : []), ...intro(plan, data).map((l) => `${l}\n`)];
  for (const t of data.tables) parts.push(`## ${t.title}`, "", markdownTable(t), "", `CSV: [${t.id}.csv](${t.id}.csv)`, "");
  for (const c of charts) parts.push(`## ${c.title}`, "", `![${c.title}](${c.file})`, "");
  if (data.textMetrics) parts.push(`## ${data.textMetrics.title}`, "", markdownTable(data.textMetrics), "");
  parts.push("## Runs", "", ...data.runIds.map((id) => `- <a id="run-${id}"></a>run ${id}`), "");
  return parts.join("\n");
}

function htmlTable(t: Table): string {
  const cell = (c: ReportCell) => (c.state === "value" ? (c.runId === null ? fmt(c) : `<a href="#run-${c.runId}" title="run ${c.runId}">${fmt(c)}</a>`) : `<span class="missing">${fmt(c)}</span>`);
  const head = `<tr>${[...t.keys, ...t.columns].map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.keys.map((k) => `<td>${esc(k)}</td>`).join("")}${r.cells.map((c) => `<td class="num">${cell(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table>${head}\n${body}</table>`;
}

function html(plan: Plan, data: ReportData, charts: Chart[], runs: { id: number; kind: string; label: string; status: string; started: string; ended: string }[]): string {
  const sections = data.tables.map((t) => `<h2>${esc(t.title)}</h2>${htmlTable(t)}`);
  const figures = charts.map((c) => `<h2>${esc(c.title)}</h2><figure>${c.svg}</figure>`);
  const text = data.textMetrics ? [`<h2>${esc(data.textMetrics.title)}</h2>${htmlTable(data.textMetrics)}`] : [];
  const runRows = runs.map((r) => `<tr id="run-${r.id}"><td>${r.id}</td><td>${esc(r.kind)}</td><td>${esc(r.label)}</td><td>${esc(r.status)}</td><td>${esc(r.started)}</td><td>${esc(r.ended)}</td></tr>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Study ${esc(plan.study.name)}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px}td.num{text-align:right}.missing{color:#999;font-style:italic}tr:target{background:#ffd}figure{overflow-x:auto;margin:0}</style>
</head><body>
<h1>Study ${esc(plan.study.name)}</h1>
${plan.study.description ? `<p>${esc(plan.study.description)}</p>` : ""}
${intro(plan, data).map((l) => `<p>${esc(l).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>").replace(/`(.+?)`/g, "<code>$1</code>")}</p>`).join("\n")}
${[...sections, ...figures, ...text].join("\n")}
<h2>Runs (kielo.db)</h2>
<table><tr><th>run</th><th>kind</th><th>label</th><th>status</th><th>started</th><th>ended</th></tr>
${runRows}</table>
</body></html>
`;
}
