/**
 * What the study's work dir says about each step. A step folder holds `step.json` (the hash and
 * pid of the attempt under way or last made) and, once the step succeeded, `done.json` with the
 * same hash and the kielo.db run it recorded. A done marker whose hash differs from the plan's is
 * stale: the step's inputs or settings changed and it runs again.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "../util/pid.ts";
import type { PlanStep } from "./plan.ts";

export interface DoneMarker {
  hash: string;
  /** The kielo.db run the step's command recorded (null for steps that record none). */
  run_id: number | null;
  seconds: number;
  finished_at: string;
}

export interface AttemptMarker {
  hash: string;
  pid: number;
  started_at: string;
  /** Set when the attempt ended without success. */
  failed?: { exit_code: number | null; signal: string | null; at: string };
}

export type StepStatus = "done" | "running" | "failed" | "stale" | "waiting";

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined; // a marker cut short by a crash is no marker
  }
}

export const doneMarkerPath = (dir: string) => join(dir, "done.json");
export const attemptMarkerPath = (dir: string) => join(dir, "step.json");

export function readDone(dir: string): DoneMarker | undefined {
  return readJson<DoneMarker>(doneMarkerPath(dir));
}

export function readAttempt(dir: string): AttemptMarker | undefined {
  return readJson<AttemptMarker>(attemptMarkerPath(dir));
}

export function stepStatus(step: PlanStep, hash: string): StepStatus {
  const done = readDone(step.dir);
  if (done?.hash === hash) return "done";
  const attempt = readAttempt(step.dir);
  if (attempt?.hash === hash) {
    if (attempt.failed) return "failed";
    if (processAlive(attempt.pid)) return "running";
  }
  return done === undefined ? "waiting" : "stale";
}

export function logPath(workDir: string, stepId: string): string {
  return join(workDir, "logs", `${stepId}.log`);
}
