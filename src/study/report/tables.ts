/**
 * The study's tables, as data: per mix, per SFT variant, per DPO data × β, and text metrics per
 * model. Every number is read from kielo.db through the run its step recorded (a cell keeps that
 * run id); a step that is not done gives a cell that says so.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "../../store/db.ts";
import { metricSeries, runSummary } from "../../store/study.ts";
import { cellOf, evalLoss, ifevalStrict, targetShare, type Cell } from "../metrics.ts";
import type { ModelInfo, Plan } from "../plan.ts";
import { readDone } from "../state.ts";

/** A table cell: a number from a run, "not done", or not applicable. */
export type ReportCell = (Cell & { state: "value" }) | { state: "not done" } | { state: "n/a" };

export interface Table {
  id: string;
  title: string;
  /** Leading text columns (model, mix, β …). */
  keys: string[];
  columns: string[];
  rows: { keys: string[]; cells: ReportCell[] }[];
}

export interface Category {
  model: string;
  lang: string;
  /** Category → strict accuracy. */
  values: Record<string, number>;
  runId: number;
}

export interface ReportData {
  tables: Table[];
  categories: Category[];
  curves: { model: string; runId: number; kind: string; points: { step: number; value: number }[] }[];
  textMetrics: Table | undefined;
  /** Which SFT model DPO started from, when chosen. */
  choice: { chosen: string; metric: string } | undefined;
  runIds: number[];
}

export function collect(db: Store, plan: Plan, hashes: Map<string, string>): ReportData {
  const stepOf = (id: string) => plan.steps.find((s) => s.id === id);
  const cell = (stepId: string, pick: (s: Record<string, unknown>) => number | null): ReportCell => {
    const step = stepOf(stepId);
    if (step === undefined) return { state: "n/a" };
    const found = cellOf(db, step.dir, hashes.get(stepId), pick);
    return found === undefined ? { state: "not done" } : { state: "value", ...found };
  };
  const langs = Object.keys(plan.study.eval.ifeval);
  const columns = [...langs.map((l) => `IFEval ${l} (strict, instr.)`), ...(plan.study.eval.share ? [`${plan.study.target} share`] : []), ...(plan.study.eval.heldout ? [`held-out ${plan.study.target} loss`] : [])];
  const cellsOf = (m: ModelInfo): ReportCell[] => [
    ...langs.map((l) => cell(`eval/${m.id}/ifeval-${l}`, ifevalStrict)),
    ...(plan.study.eval.share ? [cell(`eval/${m.id}/text`, targetShare)] : []),
    ...(plan.study.eval.heldout ? [cell(`eval/${m.id}/heldout`, evalLoss)] : []),
  ];
  const base = plan.models.filter((m) => m.kind === "base");
  const sft = plan.models.filter((m) => m.kind === "sft");
  const dpo = plan.models.filter((m) => m.kind === "dpo");
  const firstVariant = Object.keys(plan.study.sft.variants)[0];
  const perMix = sft.filter((m) => m.variant === firstVariant);
  const tables: Table[] = [
    { id: "mixes", title: `Per mix (SFT variant ${firstVariant})`, keys: ["model", `${plan.study.mixes.add} fraction`], columns,
      rows: [...base.map((m) => ({ keys: [m.id, "—"], cells: cellsOf(m) })), ...perMix.map((m) => ({ keys: [m.id, String(m.fraction)], cells: cellsOf(m) }))] },
    { id: "sft", title: "Per SFT variant", keys: ["model", "mix", "variant"], columns, rows: sft.map((m) => ({ keys: [m.id, m.mix!, m.variant!], cells: cellsOf(m) })) },
  ];
  if (dpo.length > 0) {
    tables.push({ id: "dpo", title: "Per DPO data × β", keys: ["model", "data", "β"], columns, rows: dpo.map((m) => ({ keys: [m.id, m.dpoData!, String(m.beta)], cells: cellsOf(m) })) });
  }

  const categories: Category[] = [];
  for (const m of plan.models) {
    for (const lang of langs) {
      const step = stepOf(`eval/${m.id}/ifeval-${lang}`);
      const done = step && readDone(step.dir);
      if (!done || done.hash !== hashes.get(step.id) || done.run_id === null) continue;
      const perCategory = runSummary(db, done.run_id)?.["per_category"] as Record<string, { strict?: number }> | undefined;
      if (perCategory === undefined) continue;
      const values = Object.fromEntries(Object.entries(perCategory).filter(([, v]) => typeof v.strict === "number").map(([k, v]) => [k, v.strict!]));
      categories.push({ model: m.id, lang, values, runId: done.run_id });
    }
  }
  const curves: ReportData["curves"] = [];
  for (const m of [...sft, ...dpo]) {
    const step = stepOf(m.trainStep!);
    const done = step && readDone(step.dir);
    if (!done || done.hash !== hashes.get(step.id) || done.run_id === null) continue;
    curves.push({ model: m.id, runId: done.run_id, kind: m.kind, points: metricSeries(db, done.run_id, "loss") });
  }
  const textMetrics = plan.study.eval.share ? textTable(db, plan, hashes) : undefined;
  const choiceFile = join(plan.workDir, "steps", "select", "dpo-init", "choice.json");
  const choice = existsSync(choiceFile) && readDone(join(plan.workDir, "steps", "select", "dpo-init"))?.hash === hashes.get("select/dpo-init")
    ? (JSON.parse(readFileSync(choiceFile, "utf8")) as { chosen: string; metric: string })
    : undefined;
  const runIds = new Set<number>();
  for (const t of [...tables, ...(textMetrics ? [textMetrics] : [])]) for (const r of t.rows) for (const c of r.cells) if (c.state === "value" && c.runId !== null) runIds.add(c.runId);
  for (const c of [...categories, ...curves]) runIds.add(c.runId);
  return { tables, categories, curves, textMetrics, choice, runIds: [...runIds].sort((a, b) => a - b) };
}

/** Mean, p10 and p90 of every text metric, per model (rows: model × metric). */
function textTable(db: Store, plan: Plan, hashes: Map<string, string>): Table {
  const rows: Table["rows"] = [];
  for (const m of plan.models) {
    const step = plan.steps.find((s) => s.id === `eval/${m.id}/text`);
    const done = step && readDone(step.dir);
    if (!done || done.hash !== hashes.get(step.id) || done.run_id === null) {
      rows.push({ keys: [m.id, "(all)"], cells: [{ state: "not done" }, { state: "not done" }, { state: "not done" }] });
      continue;
    }
    const metrics = (runSummary(db, done.run_id)?.["metrics"] ?? {}) as Record<string, { n?: number; mean?: number; p10?: number; p90?: number }>;
    for (const [name, s] of Object.entries(metrics)) {
      if (!s.n) continue;
      const v = (x: number | undefined): ReportCell => ({ state: "value", value: typeof x === "number" ? x : null, runId: done.run_id });
      rows.push({ keys: [m.id, name], cells: [v(s.mean), v(s.p10), v(s.p90)] });
    }
  }
  return { id: "text-metrics", title: "Text metrics per model (answers to the share prompts)", keys: ["model", "metric"], columns: ["mean", "p10", "p90"], rows };
}
