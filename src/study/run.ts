/**
 * Running a study: the steps that are not done (or those `--only` picks, with their unfinished
 * dependencies) go to an executor as `kielo study exec` command lines; the rest are skipped. Each
 * state change prints one progress line with the grid's counts and an ETA; the end prints a
 * summary that lists failed steps with their logs.
 */
import { matchesGlob } from "node:path";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defaultStorePath, openStore } from "../store/db.ts";
import { formatDuration } from "../util/progress.ts";
import { KieloError } from "../util/errors.ts";
import type { Executor, StepJob, StepUpdate } from "./executor.ts";
import { readExternalIds, writeExternalIds, type ExternalIds } from "./external-ids.ts";
import { hashSteps } from "./hash.ts";
import type { Plan, PlanStep } from "./plan.ts";
import { logPath, readDone, stepStatus, type StepStatus } from "./state.ts";

export const KIELO_ENTRY = fileURLToPath(new URL("../../bin/kielo.js", import.meta.url));

export interface RunOptions {
  only?: string[];
  force?: string[];
  executor: Executor;
  /** Parallel slots used for the ETA (the executor's CPU limit plus its GPUs). */
  slots: number;
  write?: (line: string) => void;
  signal?: AbortSignal;
}

export interface RunSummary {
  skipped: string[];
  results: Map<string, StepUpdate>;
  failed: { id: string; reason: string; log: string }[];
}

const matches = (id: string, patterns: readonly string[]) => patterns.some((p) => id === p || matchesGlob(id, p));

/** The steps a run submits: not done, picked by --only (if given), and their unfinished dependencies. */
export function selectSteps(plan: Plan, status: Map<string, StepStatus>, only?: readonly string[]): PlanStep[] {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const wanted = new Set<string>();
  const want = (id: string) => {
    if (wanted.has(id) || status.get(id) === "done") return;
    wanted.add(id);
    for (const dep of byId.get(id)!.deps) want(dep);
  };
  for (const step of plan.steps) if (only === undefined || only.length === 0 || matches(step.id, only)) want(step.id);
  return plan.steps.filter((s) => wanted.has(s.id));
}

export async function planStatus(plan: Plan): Promise<{ hashes: Map<string, string>; status: Map<string, StepStatus> }> {
  const hashes = await hashSteps(plan.steps, plan.workDir);
  const status = new Map(plan.steps.map((s) => [s.id, stepStatus(s, hashes.get(s.id)!)]));
  return { hashes, status };
}

export async function runStudy(plan: Plan, options: RunOptions): Promise<RunSummary> {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  for (const pattern of options.force ?? []) {
    const hit = plan.steps.filter((s) => matches(s.id, [pattern]));
    if (hit.length === 0) throw new KieloError(`--force ${pattern}: no step matches`, { hint: "`kielo study plan <file>` lists the step ids." });
    for (const step of hit) rmSync(step.dir, { recursive: true, force: true });
  }
  const { hashes, status } = await planStatus(plan);
  for (const [id, state] of status) {
    // Under Slurm a step still running from a cut-off run is adopted by the executor, not an error.
    if (state === "running" && options.executor.name === "local") throw new KieloError(`step ${id} is running in another process`, { hint: "Wait for that `kielo study run` to finish, or stop it." });
  }
  if (options.only?.length) {
    for (const pattern of options.only) {
      if (!plan.steps.some((s) => matches(s.id, [pattern]))) throw new KieloError(`--only ${pattern}: no step matches`, { hint: "`kielo study plan <file>` lists the step ids." });
    }
  }
  const chosen = selectSteps(plan, status, options.only);
  const submitted = new Set(chosen.map((s) => s.id));
  const skipped = plan.steps.filter((s) => status.get(s.id) === "done").map((s) => s.id);
  const db = process.env["KIELO_DB"] ?? defaultStorePath();
  // Create and migrate the store once, before steps open it side by side.
  openStore(db).close();
  const jobs: StepJob[] = chosen.map((step) => ({
    id: step.id,
    argv: [process.execPath, KIELO_ENTRY, "study", "exec", "--dir", step.dir, "--hash", hashes.get(step.id)!, ...(step.label ? ["--label", step.label] : []), "--", ...step.args],
    cwd: process.cwd(),
    env: { KIELO_DB: db },
    gpus: step.gpus,
    logPath: logPath(plan.workDir, step.id),
    dependsOn: step.deps.filter((d) => submitted.has(d)),
  }));
  write(`study ${plan.study.name}: ${plan.steps.length} steps, ${skipped.length} done already, ${jobs.length} to run (work dir ${plan.workDir})`);

  const seconds = measuredSeconds(plan, hashes);
  const kinds = new Map(plan.steps.map((s) => [s.id, s.kind]));
  const states = new Map<string, StepUpdate["state"]>(jobs.map((j) => [j.id, "waiting"]));
  const startedAt = new Map<string, number>();
  const external: ExternalIds = { executor: options.executor.name, ids: { ...(readExternalIds(plan.workDir)?.ids ?? {}) } };
  let saving = Promise.resolve();
  const onUpdate = (u: StepUpdate) => {
    if (u.externalId !== undefined && external.ids[u.id] !== u.externalId) {
      external.ids[u.id] = u.externalId;
      saving = saving.then(() => writeExternalIds(plan.workDir, external));
    }
    const before = states.get(u.id);
    states.set(u.id, u.state);
    if (u.state === "running") startedAt.set(u.id, performance.now());
    if (u.state === "done" && startedAt.has(u.id)) {
      const list = seconds.get(kinds.get(u.id)!) ?? [];
      list.push((performance.now() - startedAt.get(u.id)!) / 1000);
      seconds.set(kinds.get(u.id)!, list);
    }
    if (before === u.state || u.state === "waiting") return;
    const counts = { done: 0, running: 0, waiting: 0, failed: 0, cancelled: 0 };
    for (const state of states.values()) counts[state]++;
    const eta = estimate([...states].filter(([, s]) => s === "waiting" || s === "running").map(([id]) => kinds.get(id)!), seconds, options.slots);
    const why = u.reason ? ` (${u.reason})` : "";
    write(`[${counts.done + skipped.length}/${plan.steps.length}] ${u.state} ${u.id}${why} · done ${counts.done + skipped.length} running ${counts.running} waiting ${counts.waiting} failed ${counts.failed} cancelled ${counts.cancelled} · ETA ${eta === null ? "unknown" : formatDuration(eta)}`);
  };
  const controller = new AbortController();
  options.signal?.addEventListener("abort", () => controller.abort());
  const results = jobs.length === 0 ? new Map<string, StepUpdate>() : await options.executor.run(jobs, onUpdate, controller.signal);
  await saving;
  const failed = [...results.values()]
    .filter((r) => r.state === "failed" || r.state === "cancelled")
    .map((r) => ({ id: r.id, reason: r.reason ?? r.state, log: logPath(plan.workDir, r.id) }));
  return { skipped, results, failed };
}

/** Seconds each kind of step took, from the done markers of this study. */
export function measuredSeconds(plan: Plan, hashes: Map<string, string>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const step of plan.steps) {
    const done = readDone(step.dir);
    if (done === undefined || done.hash !== hashes.get(step.id)) continue;
    out.set(step.kind, [...(out.get(step.kind) ?? []), done.seconds]);
  }
  return out;
}

/** Wall time left: the steps' mean measured seconds per kind over the parallel slots; null if a kind was never measured. */
export function estimate(kinds: readonly string[], seconds: Map<string, number[]>, slots: number): number | null {
  let total = 0;
  for (const kind of kinds) {
    const list = seconds.get(kind);
    if (list === undefined || list.length === 0) return null;
    total += list.reduce((a, b) => a + b, 0) / list.length;
  }
  return total / Math.max(1, slots);
}
