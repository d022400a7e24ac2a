/** The terminal text of `kielo runs`, `kielo runs show` and `kielo runs compare`. */
import { formatDuration } from "../util/progress.ts";
import { flatten, type Comparison } from "./compare.ts";
import type { RunDetail, RunListItem } from "./views.ts";

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return "-";
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : value.toFixed(4);
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") return formatNumber(value);
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** `2026-12-05T07:16:43.123Z` → `2026-12-05 07:16` (UTC). */
function shortTime(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}

export function formatRunList(items: RunListItem[]): string {
  if (items.length === 0) return "no runs (kielo records a run for each training, evaluation, generation, translation …)\n";
  return table(
    ["id", "kind", "label", "status", "started (UTC)", "duration", "metrics"],
    items.map((run) => [
      String(run.id),
      run.kind,
      run.label ?? "-",
      run.status,
      shortTime(run.started_at),
      run.duration_s === null ? "-" : formatDuration(run.duration_s),
      Object.entries(run.metrics).map(([name, value]) => `${name} ${formatNumber(value)}`).join(", "),
    ]),
  );
}

export function formatRunDetail(run: RunDetail): string {
  const out: string[] = [];
  out.push(`run ${run.id}: ${run.kind}${run.label ? ` "${run.label}"` : ""}, ${run.status}`);
  out.push(`started ${run.started_at}${run.ended_at ? `, ended ${run.ended_at}` : ""}${run.duration_s === null ? "" : ` (${formatDuration(run.duration_s)})`}`);
  if (run.pid !== null) out.push(`process ${run.pid} on ${run.host ?? "?"}, last heartbeat ${run.heartbeat_at ?? "-"}`);
  const section = (title: string, entries: [string, unknown][]) => {
    if (entries.length === 0) return;
    out.push("", `${title}:`);
    const width = Math.max(...entries.map(([k]) => k.length));
    for (const [key, value] of entries) out.push(`  ${key.padEnd(width)}  ${formatValue(value)}`);
  };
  section("inputs", Object.entries(run.inputs ?? {}));
  section("settings", Object.entries(flatten(run.settings)));
  if (run.metric_summaries.length > 0) {
    out.push("", "metrics:");
    out.push(
      table(
        ["name", "n", "last", "min", "max", "last step"],
        run.metric_summaries.map((m) => [m.name, String(m.n), formatNumber(m.last), formatNumber(m.min), formatNumber(m.max), m.last_step === null ? "-" : String(m.last_step)]),
      )
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
  }
  section("items", Object.entries(run.items).filter(([, n]) => n > 0));
  section("artefacts", Object.entries(run.artefacts));
  section("logs", Object.entries(run.logs));
  return `${out.join("\n")}\n`;
}

export function formatComparison(c: Comparison): string {
  const heads = c.runs.map((r) => `#${r.id} ${r.label ?? r.kind}`);
  const out: string[] = [];
  out.push(table(["run", "kind", "status", "duration"], c.runs.map((r, i) => [heads[i]!, r.kind, r.status, r.duration_s === null ? "-" : formatDuration(r.duration_s)])));
  out.push("settings that differ:");
  out.push(c.settings.length === 0 ? "  (none)\n" : table(["setting", ...heads], c.settings.map((s) => [s.key, ...s.values.map(formatValue)])));
  out.push("metrics (last value):");
  out.push(c.metrics.length === 0 ? "  (none)\n" : table(["metric", ...heads], c.metrics.map((m) => [m.name, ...m.values.map(formatNumber)])));
  if (c.ifeval_categories) {
    out.push("IFEval per category (strict / loose accuracy):");
    out.push(table(["category", ...heads], c.ifeval_categories.map((row) => [row.category, ...row.values.map((v) => (v === null ? "-" : `${v.strict.toFixed(3)} / ${v.loose.toFixed(3)}`))])));
  }
  if (c.text_metrics) {
    out.push("text metrics (mean, p10, p90):");
    out.push(table(["field", ...heads], c.text_metrics.map((row) => [row.field, ...row.values.map((v) => (v === null ? "-" : `${formatNumber(v.mean)} (${formatNumber(v.p10)}, ${formatNumber(v.p90)})`))])));
  }
  return out.join("\n");
}
