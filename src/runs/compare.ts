/**
 * `kielo runs compare A B …`: the settings in which the runs differ, their metrics side by side,
 * IFEval accuracy per instruction category and text-metric summaries (mean, p10, p90) when the
 * runs have them.
 */
import type { Store } from "../store/db.ts";
import { metricSummaries } from "../store/run-queries.ts";
import { runDetail, type RunDetail } from "./views.ts";

export interface Comparison {
  runs: { id: number; kind: string; label: string | null; status: string; duration_s: number | null }[];
  /** Dotted setting paths whose values are not the same in every run (null: the run has no such setting). */
  settings: { key: string; values: unknown[] }[];
  /** Last value of each metric; null where a run lacks it. */
  metrics: { name: string; values: (number | null)[] }[];
  /** IFEval strict accuracy per instruction category; present when a run has it. */
  ifeval_categories?: { category: string; values: ({ strict: number; loose: number; instructions: number } | null)[] }[];
  /** Text-metric summaries of text evaluations; present when a run has them. */
  text_metrics?: { field: string; values: ({ n: number; mean: number; p10: number; p90: number } | null)[] }[];
}

export function compareRuns(db: Store, ids: readonly number[]): Comparison {
  const details = ids.map((id) => runDetail(db, id));
  const comparison: Comparison = {
    runs: details.map((d) => ({ id: d.id, kind: d.kind, label: d.label, status: d.status, duration_s: d.duration_s })),
    settings: differingSettings(details.map((d) => flatten(d.settings))),
    metrics: sideBySide(ids.map((id) => new Map(metricSummaries(db, id).map((m) => [m.name, m.last] as const)))),
  };
  const categories = details.map((d) => field<Record<string, { strict: number; loose: number; instructions: number }>>(d, "per_category"));
  if (categories.some((c) => c !== undefined)) {
    const names = [...new Set(categories.flatMap((c) => Object.keys(c ?? {})))].sort();
    comparison.ifeval_categories = names.map((category) => ({
      category,
      values: categories.map((c) => {
        const b = c?.[category];
        return b === undefined ? null : { strict: b.strict, loose: b.loose, instructions: b.instructions };
      }),
    }));
  }
  const texts = details.map((d) => field<Record<string, { n: number; mean: number; p10: number; p90: number }>>(d, "metrics", "eval-text"));
  if (texts.some((t) => t !== undefined)) {
    const names = [...new Set(texts.flatMap((t) => Object.keys(t ?? {})))].sort();
    comparison.text_metrics = names.map((name) => ({
      field: name,
      values: texts.map((t) => {
        const s = t?.[name];
        return s === undefined ? null : { n: s.n, mean: s.mean, p10: s.p10, p90: s.p90 };
      }),
    }));
  }
  return comparison;
}

/** A field of the run's summary (optionally only for one kind of run). */
function field<T>(detail: RunDetail, name: string, kind?: string): T | undefined {
  if (kind !== undefined && detail.kind !== kind) return undefined;
  const summary = detail.summary as Record<string, unknown> | null;
  const value = summary?.[name];
  return typeof value === "object" && value !== null ? (value as T) : undefined;
}

/** `{a: {b: 1}, c: [1, 2]}` → `{"a.b": 1, "c": [1, 2]}`: arrays stay whole, they are one setting. */
export function flatten(value: unknown, prefix = "", into: Record<string, unknown> = {}): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix !== "") {
    into[prefix] = value;
  }
  return into;
}

function differingSettings(flat: Record<string, unknown>[]): { key: string; values: unknown[] }[] {
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const out: { key: string; values: unknown[] }[] = [];
  for (const key of keys) {
    const values = flat.map((f) => (key in f ? f[key] : null));
    const shown = values.map((v) => JSON.stringify(v));
    if (shown.some((s) => s !== shown[0])) out.push({ key, values });
  }
  return out;
}

function sideBySide(maps: Map<string, number>[]): { name: string; values: (number | null)[] }[] {
  const names = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();
  return names.map((name) => ({ name, values: maps.map((m) => m.get(name) ?? null) }));
}
