/**
 * The executor's own ids of a study's steps (Slurm job ids, pids), kept in `<work dir>/jobs.json`
 * so that `kielo study status` can ask Slurm about steps a `kielo study run` submitted earlier.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readSlurmJobs } from "./executors/slurm.ts";
import type { Plan } from "./plan.ts";
import type { StepStatus } from "./state.ts";
import { writeFileAtomic } from "../util/atomic.ts";

export interface ExternalIds {
  executor: "local" | "slurm";
  ids: Record<string, string>;
}

const fileOf = (workDir: string) => join(workDir, "jobs.json");

export function readExternalIds(workDir: string): ExternalIds | undefined {
  const file = fileOf(workDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ExternalIds;
  } catch {
    return undefined;
  }
}

export async function writeExternalIds(workDir: string, ids: ExternalIds): Promise<void> {
  await writeFileAtomic(fileOf(workDir), `${JSON.stringify(ids, null, 1)}\n`);
}

/** Steps not done by their markers, as Slurm sees their jobs (running, pending, failed). */
export async function slurmStatus(plan: Plan, status: Map<string, StepStatus>): Promise<Map<string, StepStatus>> {
  const known = readExternalIds(plan.workDir);
  if (known?.executor !== "slurm") return status;
  const pending = [...status].filter(([id, s]) => s !== "done" && known.ids[id] !== undefined).map(([id]) => id);
  const jobs = await readSlurmJobs(pending.map((id) => known.ids[id]!), { exitCodes: false });
  const out = new Map(status);
  for (const id of pending) {
    const state = jobs.get(known.ids[id]!)?.state;
    if (state === "running") out.set(id, "running");
    else if (state === "failed" || state === "cancelled") out.set(id, "failed");
  }
  return out;
}
