/**
 * `kielo study select`: the step that picks the SFT model DPO starts from — the best candidate by a
 * metric, read from kielo.db through each candidate's finished evaluation step. It writes
 * `choice.json` and a `model` link to the chosen folder, which the DPO recipes point at.
 */
import { symlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../store/db.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { KieloError } from "../util/errors.ts";
import { cellOf, lowerIsBetter, pickerFor } from "./metrics.ts";
import { METRICS, type MetricName } from "./schema.ts";

export interface Candidate {
  id: string;
  modelDir: string;
  /** The step folder whose run holds the metric. */
  metricDir: string;
}

export function parseCandidate(text: string): Candidate {
  const [id, modelDir, metricDir] = text.split("=");
  if (!id || !modelDir || !metricDir) throw new KieloError(`--candidate ${text}: expected <id>=<model folder>=<metric step folder>`);
  return { id, modelDir, metricDir };
}

export async function selectModel(metric: string, candidates: Candidate[], out: string): Promise<Candidate> {
  if (metric === "named") {
    // The study named the model (dpo.from.sft): nothing to rank, only the link to write.
    if (candidates.length !== 1) throw new KieloError(`--metric named takes exactly one --candidate, got ${candidates.length}`);
    return linkChoice(out, candidates[0]!, { metric, chosen: candidates[0]!.id, model: candidates[0]!.modelDir, candidates: [{ id: candidates[0]!.id, value: null, run_id: null }] });
  }
  if (!(METRICS as readonly string[]).includes(metric)) throw new KieloError(`--metric ${metric}: one of named, ${METRICS.join(", ")}`);
  const name = metric as MetricName;
  const db = openStore();
  const scored = candidates.map((c) => ({ c, cell: cellOf(db, c.metricDir, undefined, pickerFor(name)) }));
  db.close();
  const usable = scored.filter((s) => s.cell?.value != null);
  if (usable.length === 0) throw new KieloError(`no candidate has a ${metric} result (${candidates.map((c) => c.id).join(", ")})`);
  const sign = lowerIsBetter(name) ? 1 : -1;
  // Ties go to the earlier candidate (the study file's order), so the choice repeats.
  const best = usable.reduce((a, b) => (sign * b.cell!.value! < sign * a.cell!.value! ? b : a));
  const choice = { metric, chosen: best.c.id, model: best.c.modelDir, candidates: scored.map((s) => ({ id: s.c.id, value: s.cell?.value ?? null, run_id: s.cell?.runId ?? null })) };
  await linkChoice(out, best.c, choice);
  process.stdout.write(`chose ${best.c.id} by ${metric} (${best.cell!.value})\n`);
  return best.c;
}

async function linkChoice(out: string, chosen: Candidate, choice: object): Promise<Candidate> {
  const link = join(out, "model");
  rmSync(link, { force: true });
  symlinkSync(chosen.modelDir, link);
  await writeFileAtomic(join(out, "choice.json"), `${JSON.stringify(choice, null, 2)}\n`);
  return chosen;
}
