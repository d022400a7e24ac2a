/**
 * The status a run really has. A row says `running` until its process finishes it; a process that
 * was killed (SIGKILL, a crash, the machine going down) never does. So a `running` row is checked:
 * on this host its pid must still be alive; elsewhere its heartbeat must be recent.
 */
import { hostname } from "node:os";
import { HEARTBEAT_SECONDS, type RunRow } from "../store/runs.ts";
import { processAlive } from "../util/pid.ts";

export type ShownStatus = RunRow["status"] | "died";

export const STATUSES: readonly ShownStatus[] = ["running", "done", "failed", "interrupted", "died"];

/** A heartbeat older than this many missed beats means the process is gone (on another host). */
const MISSED_BEATS = 6;

export function shownStatus(run: Pick<RunRow, "status" | "pid" | "host" | "heartbeat_at">, now = Date.now()): ShownStatus {
  if (run.status !== "running") return run.status;
  // Rows written before kielo recorded processes: nothing to check.
  if (run.pid === null || run.heartbeat_at === null) return "running";
  if (run.host === hostname()) return processAlive(run.pid) ? "running" : "died";
  const age = (now - Date.parse(run.heartbeat_at)) / 1000;
  return age > HEARTBEAT_SECONDS * MISSED_BEATS ? "died" : "running";
}
