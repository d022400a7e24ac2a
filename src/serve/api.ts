/**
 * The dashboard's JSON API (`kielo serve`): read-only views of kielo.db. Each handler takes the
 * query string and returns a JSON-able value, or throws a RequestError (a 4xx) for a request that
 * cannot be answered: an unknown run, a malformed parameter.
 */
import { compareRuns } from "../runs/compare.ts";
import { STATUSES, type ShownStatus } from "../runs/status.ts";
import { listRunItems, runDetail } from "../runs/views.ts";
import type { Store } from "../store/db.ts";
import { answers, getRun, metricSeries, metricSummaries, pairedAnswers } from "../store/run-queries.ts";

export class RequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function integer(query: URLSearchParams, name: string, options: { min?: number; max?: number; fallback?: number } = {}): number {
  const raw = query.get(name);
  if (raw === null || raw === "") {
    if (options.fallback !== undefined) return options.fallback;
    throw new RequestError(400, `missing parameter ${name}`);
  }
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || (options.min !== undefined && value < options.min) || (options.max !== undefined && value > options.max)) {
    throw new RequestError(400, `parameter ${name} must be an integer${options.min !== undefined ? ` ≥ ${options.min}` : ""}${options.max !== undefined ? ` ≤ ${options.max}` : ""}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function text(query: URLSearchParams, name: string, maxLength = 200): string | undefined {
  const value = query.get(name);
  if (value === null || value === "") return undefined;
  if (value.length > maxLength) throw new RequestError(400, `parameter ${name} is longer than ${maxLength} characters`);
  return value;
}

/** A run id from the path; 404 when kielo.db has no such run. */
export function runId(db: Store, raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new RequestError(400, `run id must be a number, got ${JSON.stringify(raw)}`);
  const id = Number(raw);
  if (getRun(db, id) === undefined) throw new RequestError(404, `no run with id ${id}`);
  return id;
}

export function listRunsApi(db: Store, query: URLSearchParams): unknown {
  const status = text(query, "status");
  if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
    throw new RequestError(400, `status must be one of ${STATUSES.join(", ")}`);
  }
  const since = text(query, "since");
  if (since !== undefined && Number.isNaN(Date.parse(since))) throw new RequestError(400, `since must be a date, got ${JSON.stringify(since)}`);
  return listRunItems(db, {
    kind: text(query, "kind"),
    label: text(query, "label"),
    status: status as ShownStatus | undefined,
    since: since === undefined ? undefined : new Date(since).toISOString(),
    limit: integer(query, "limit", { min: 1, max: 10000, fallback: 500 }),
  });
}

export function runApi(db: Store, id: number): unknown {
  return runDetail(db, id);
}

/** The curves of a run: every metric recorded with a step, as [steps, values]. */
export function metricsApi(db: Store, id: number): Record<string, { steps: number[]; values: number[] }> {
  const out: Record<string, { steps: number[]; values: number[] }> = {};
  for (const { name } of metricSummaries(db, id)) {
    const points = metricSeries(db, id, name).filter((p) => p.step !== null);
    if (points.length === 0) continue;
    out[name] = { steps: points.map((p) => p.step!), values: points.map((p) => p.value) };
  }
  return out;
}

export function answersApi(db: Store, id: number, query: URLSearchParams): unknown {
  return answers(db, id, {
    search: text(query, "q"),
    limit: integer(query, "limit", { min: 1, max: 500, fallback: 50 }),
    offset: integer(query, "offset", { min: 0, fallback: 0 }),
  });
}

export function compareApi(db: Store, query: URLSearchParams): unknown {
  const raw = text(query, "ids");
  if (raw === undefined) throw new RequestError(400, "missing parameter ids (e.g. ids=1,2)");
  const ids = raw.split(",").map((part) => runId(db, part.trim()));
  if (ids.length < 2) throw new RequestError(400, "compare needs at least two run ids");
  return compareRuns(db, ids);
}

export function pairedAnswersApi(db: Store, query: URLSearchParams): unknown {
  const a = runId(db, query.get("a") ?? "");
  const b = runId(db, query.get("b") ?? "");
  return pairedAnswers(db, a, b, { search: text(query, "q"), limit: integer(query, "limit", { min: 1, max: 500, fallback: 50 }) });
}
