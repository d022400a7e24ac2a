/** A small study for the tests: a 2 × 2 grid (two mixes, two DPO β) on the tiny model, on the CPU. */
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { root } from "../robust/helpers.ts";

export { kielo, start, finish, tempDir, root } from "../robust/helpers.ts";

/** The base model and instruction sources of the small studies the CLI tests write (tiny model, 8 Dolly rows, tiny Finnish set). */
export const TINY_STUDY_INPUTS = `model: ${root}fixtures/models/stories260K/hf
target: fi
data:
  instructions:
    en: { file: ${root}test/fixtures/data/dolly/dolly_en_fi_first8.jsonl, format: dolly }
    fi: ${root}studies/data/tiny-fi-train.jsonl
`;

/** The study file text; `betas` varies the DPO grid. */
export function gridStudy(betas: number[] = [0.05, 0.1]): string {
  return `name: grid
model: ${root}/fixtures/models/stories260K/hf
target: fi
data:
  instructions:
    en: { file: ${root}/test/fixtures/data/dolly/dolly_en_fi_first8.jsonl, format: dolly }
    fi: ${root}/studies/data/tiny-fi-train.jsonl
  preferences:
    en: ${root}/examples/tiny-train/pairs-en.jsonl
mixes: { base: en, add: fi, fractions: [0, 0.5], seed: 42 }
sft:
  recipe: ${root}/recipes/tiny-sft.yaml
  set: { training.epochs: 1, training.save_every_steps: 2 }
dpo:
  recipe: ${root}/recipes/tiny-dpo.yaml
  set: { training.epochs: 1, training.save_every_steps: 2 }
  from: { best: heldout-loss }
  data: { en: [en] }
  beta: [${betas.join(", ")}]
eval:
  base: false
  ifeval: { en: ${root}/studies/data/ifeval-en-8.jsonl }
  heldout: ${root}/studies/data/tiny-fi-heldout.jsonl
  generation: { max_new_tokens: 8 }
resources: { cpu_parallel: 2 }
`;
}

export function writeStudy(dir: string, text: string, name = "grid.yaml"): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** finished_at of every done step under a work dir, by step id. */
export function doneSteps(workDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, id: string[]) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name), [...id, entry.name]);
      else if (entry.name === "done.json") out.set(id.join("/"), (JSON.parse(readFileSync(join(dir, entry.name), "utf8")) as { finished_at: string }).finished_at);
    }
  };
  walk(join(workDir, "steps"), []);
  return out;
}

/** A report CSV without its run-id columns (run ids differ between stores; the numbers must not). */
export function csvValues(reportDir: string, name: string): string[][] {
  const rows = parse(readFileSync(join(reportDir, name), "utf8")) as string[][];
  const keep = rows[0]!.map((h, i) => (h.endsWith(" run") ? -1 : i)).filter((i) => i >= 0);
  return rows.map((r) => keep.map((i) => r[i]!));
}
