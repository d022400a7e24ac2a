/**
 * Text views of a study for the terminal: the plan (every step, its dependencies and status, and
 * a time estimate) and the grid (one row per model, one column per stage).
 */
import { existsSync } from "node:fs";
import { formatDuration } from "../util/progress.ts";
import type { Plan } from "./plan.ts";
import { estimate, measuredSeconds } from "./run.ts";
import { logPath, type StepStatus } from "./state.ts";
import type { TrainingEstimate } from "./throughput.ts";

const MARK: Record<StepStatus, string> = { done: "✓", running: "▶", failed: "✗", stale: "~", waiting: "·" };

/** `training`: train steps' time from earlier runs' throughput (throughput.ts), for what this study has not measured. */
export function formatPlan(plan: Plan, hashes: Map<string, string>, status: Map<string, StepStatus>, slots: number, training?: TrainingEstimate): string {
  const lines = [`study ${plan.study.name} (${plan.file}), work dir ${plan.workDir}`, `${plan.steps.length} steps:`];
  for (const step of plan.steps) {
    const state = status.get(step.id)!;
    const deps = step.deps.length === 0 ? "" : ` ← ${step.deps.join(", ")}`;
    const gpus = step.gpus > 0 ? ` [${step.gpus} GPU]` : "";
    lines.push(`  ${MARK[state]} ${step.id} ${hashes.get(step.id)}${gpus} ${state}${deps}`);
  }
  const counts = countStates(status);
  lines.push(`\n${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  const missing = [...new Set(plan.steps.flatMap((s) => s.inputs).filter((f) => !f.startsWith(plan.workDir) && !existsSync(f)))];
  if (missing.length > 0) lines.push(`missing inputs (the steps that read them will fail): ${missing.join(", ")}`);
  const seconds = measuredSeconds(plan, hashes);
  const remaining = plan.steps.filter((s) => status.get(s.id) !== "done");
  const gpuSteps = remaining.filter((s) => s.gpus > 0);
  const unmeasured = [...new Set(remaining.map((s) => s.kind))].filter((k) => !seconds.has(k));
  const wall = estimate(remaining.map((s) => s.kind), seconds, slots);
  // GPU time: a step's kind as measured in this study, else (train steps) from earlier runs' throughput.
  const perStep = (s: (typeof remaining)[number]) => {
    const list = seconds.get(s.kind);
    return list !== undefined && list.length > 0 ? list.reduce((a, b) => a + b, 0) / list.length : training?.seconds.get(s.id);
  };
  const gpuParts = gpuSteps.map((s) => perStep(s)).map((t, i) => (t === undefined ? undefined : t * gpuSteps[i]!.gpus));
  const gpu = gpuParts.includes(undefined) ? null : gpuParts.reduce<number>((a, b) => a + b!, 0);
  const gpuText = gpuSteps.length === 0 ? "none (CPU only)" : gpu === null ? "unknown" : `about ${formatDuration(gpu)}`;
  lines.push(
    wall === null
      ? `time left: unknown (not yet measured in this study: ${unmeasured.join(", ")}; run once, then plan again); GPU time ${gpuText}`
      : `time left: about ${formatDuration(wall)} wall with ${slots} slot(s); GPU time ${gpuText} (from steps measured in this study)`,
  );
  if (training !== undefined && training.notes.length > 0) {
    const trainSteps = remaining.filter((s) => s.kind === "sft" || s.kind === "dpo");
    const known = trainSteps.every((s) => training.seconds.has(s.id));
    const total = trainSteps.reduce((a, s) => a + (training.seconds.get(s.id) ?? 0), 0);
    lines.push(`training from earlier runs: ${known ? `about ${formatDuration(total)} of training` : "unknown in part"}`, ...training.notes.map((n) => `  ${n}`));
  }
  return `${lines.join("\n")}\n`;
}

export function countStates(status: Map<string, StepStatus>): Record<StepStatus, number> {
  const counts: Record<StepStatus, number> = { done: 0, running: 0, waiting: 0, failed: 0, stale: 0 };
  for (const state of status.values()) counts[state]++;
  return counts;
}

/** One row per model, one column per stage (train, gen-…, ifeval-…, share), plus the data steps. */
export function formatGrid(plan: Plan, status: Map<string, StepStatus>): string {
  const columns = [...new Set(plan.steps.filter((s) => s.model !== undefined).map((s) => s.column!))];
  const rows = plan.models.map((m) => m.id);
  const width = Math.max(5, ...rows.map((r) => r.length));
  const lines = [`${"model".padEnd(width)}  ${columns.map((c) => c.padEnd(Math.max(5, c.length))).join(" ")}`];
  for (const row of rows) {
    const cells = columns.map((c) => {
      const step = plan.steps.find((s) => s.model === row && s.column === c);
      return (step === undefined ? " " : MARK[status.get(step.id)!]).padEnd(Math.max(5, c.length));
    });
    lines.push(`${row.padEnd(width)}  ${cells.join(" ")}`);
  }
  const other = plan.steps.filter((s) => s.model === undefined);
  lines.push("", ...other.map((s) => `${MARK[status.get(s.id)!]} ${s.id}`));
  const failed = plan.steps.filter((s) => status.get(s.id) === "failed");
  if (failed.length > 0) lines.push("", "failed:", ...failed.map((s) => `  ${s.id}: log ${logPath(plan.workDir, s.id)}`));
  const counts = countStates(status);
  lines.push("", `${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")}  (✓ done, ▶ running, · waiting, ~ changed since done, ✗ failed)`);
  return `${lines.join("\n")}\n`;
}
