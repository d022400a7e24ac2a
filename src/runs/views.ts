/**
 * What `kielo runs`, `kielo runs show` and `kielo serve` show of a run, as plain JSON-able objects
 * (the same objects are printed with --json and served by the dashboard's API).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../store/db.ts";
import { getRun, itemCounts, metricSummaries, queryRuns, type MetricSummary, type RunFilter } from "../store/run-queries.ts";
import type { RunRow } from "../store/runs.ts";
import { KieloError } from "../util/errors.ts";
import { shownStatus, type ShownStatus } from "./status.ts";

/** Metrics shown in the list, the first ones a run has (by kind: training, IFEval, text metrics). */
const KEY_METRICS = ["loss", "eval/loss", "prompt_level_strict", "instruction_level_strict", "response_language_rate", "prompt_level_loose"];
const KEY_METRIC_COUNT = 3;

export interface RunListItem {
  id: number;
  kind: string;
  label: string | null;
  status: ShownStatus;
  started_at: string;
  ended_at: string | null;
  /** Seconds from start to end (or to now / the last heartbeat while running or after dying). */
  duration_s: number | null;
  /** Last value of the run's key metrics. */
  metrics: Record<string, number>;
}

export interface ListOptions extends RunFilter {
  status?: ShownStatus;
  limit?: number;
}

export function listRunItems(db: Store, options: ListOptions = {}, now = Date.now()): RunListItem[] {
  const items: RunListItem[] = [];
  for (const run of queryRuns(db, options)) {
    const status = shownStatus(run, now);
    if (options.status !== undefined && status !== options.status) continue;
    items.push(listItem(run, status, metricSummaries(db, run.id), now));
    if (options.limit !== undefined && items.length >= options.limit) break;
  }
  return items;
}

function listItem(run: RunRow, status: ShownStatus, metrics: MetricSummary[], now: number): RunListItem {
  const byName = new Map(metrics.map((m) => [m.name, m]));
  const key: Record<string, number> = {};
  let names = KEY_METRICS.filter((name) => byName.has(name));
  // A kind without known key metrics (e.g. a text evaluation): its first ones by name.
  if (names.length === 0) names = metrics.map((m) => m.name);
  for (const name of names.slice(0, KEY_METRIC_COUNT)) key[name] = byName.get(name)!.last;
  return { id: run.id, kind: run.kind, label: run.label, status, started_at: run.started_at, ended_at: run.ended_at, duration_s: duration(run, status, now), metrics: key };
}

function duration(run: RunRow, status: ShownStatus, now: number): number | null {
  const start = Date.parse(run.started_at);
  const end = run.ended_at !== null ? Date.parse(run.ended_at) : status === "running" ? now : run.heartbeat_at !== null ? Date.parse(run.heartbeat_at) : NaN;
  return Number.isFinite(end - start) ? Math.max(0, (end - start) / 1000) : null;
}

export interface RunDetail extends RunListItem {
  pid: number | null;
  host: string | null;
  heartbeat_at: string | null;
  settings: unknown;
  inputs: Record<string, unknown> | null;
  summary: unknown;
  metric_summaries: MetricSummary[];
  items: { generations: number; eval_results: number; answer_metrics: number };
  /** Files and folders the run wrote (those that exist). */
  artefacts: Record<string, string>;
  /** Logs to read (those that exist). */
  logs: Record<string, string>;
}

/** A run by id, or a KieloError naming the id. */
export function requireRun(db: Store, id: number): RunRow {
  const run = getRun(db, id);
  if (run === undefined) throw new KieloError(`no run with id ${id} in this kielo.db`, { hint: "`kielo runs` lists the runs and their ids." });
  return run;
}

export function runDetail(db: Store, id: number, now = Date.now()): RunDetail {
  const run = requireRun(db, id);
  const status = shownStatus(run, now);
  const metrics = metricSummaries(db, id);
  const config = parseJson(run.config_json) as Record<string, unknown> | null;
  const summary = run.summary_json === null ? null : parseJson(run.summary_json);
  const { inputs, ...settings } = config ?? {};
  const { artefacts, logs } = filesOf(run, config, summary);
  return {
    ...listItem(run, status, metrics, now),
    pid: run.pid,
    host: run.host,
    heartbeat_at: run.heartbeat_at,
    settings,
    inputs: typeof inputs === "object" && inputs !== null ? (inputs as Record<string, unknown>) : null,
    summary,
    metric_summaries: metrics,
    items: itemCounts(db, id),
    artefacts,
    logs,
  };
}

function filesOf(run: RunRow, config: Record<string, unknown> | null, summary: unknown): { artefacts: Record<string, string>; logs: Record<string, string> } {
  const artefacts: Record<string, string> = {};
  const logs: Record<string, string> = {};
  const add = (into: Record<string, string>, name: string, path: unknown) => {
    if (typeof path === "string" && path !== "" && existsSync(path)) into[name] = path;
  };
  const job = run.job_dir ?? (typeof config?.["job"] === "string" ? config["job"] : null);
  if (job !== null) {
    add(artefacts, "job folder", job);
    add(artefacts, "model", join(job, "model"));
    add(artefacts, "checkpoints", join(job, "checkpoints"));
    add(artefacts, "tensorboard", join(job, "tensorboard"));
    add(logs, "events", join(job, "events.jsonl"));
  }
  const s = (typeof summary === "object" && summary !== null ? summary : {}) as Record<string, unknown>;
  add(artefacts, "output", s["output"] ?? s["out"] ?? config?.["out"]);
  return { artefacts, logs };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
