/**
 * A real study report for the dashboard to serve: the smallest study that fills the report's
 * tables and draws both kinds of figure (one mix, one SFT model of the tiny model, its IFEval and
 * held-out loss: 6 steps, about a minute on two cores, mostly process start-up), run with
 * `kielo study run` and reported with `kielo study report` into the default work dir
 * (`study-runs/<name>/report/`), with a kielo.db of its own.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TINY_STUDY_INPUTS } from "../study/helpers.ts";

const root = new URL("../../", import.meta.url).pathname;
const kielo = join(root, "bin", "kielo.js");

export const STUDY_NAME = "mini";

function study(): string {
  return `name: ${STUDY_NAME}
description: One mix and one SFT model of the tiny model, for the dashboard's browser test.
${TINY_STUDY_INPUTS}mixes: { base: en, add: fi, fractions: [0.5], seed: 42 }
sft:
  recipe: ${root}recipes/tiny-sft.yaml
  set: { training.epochs: 1, training.save_every_steps: 100 }
eval:
  base: false
  ifeval: { en: ${root}studies/data/ifeval-en-8.jsonl }
  heldout: ${root}studies/data/tiny-fi-heldout.jsonl
  generation: { max_new_tokens: 8 }
resources: { cpu_parallel: 2 }
`;
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, [kielo, ...args], { cwd, env });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`kielo ${args.join(" ")} exited with ${code}:\n${output}`))));
  });
}

/** Runs the study in `dir` and writes its report; resolves with the study's kielo.db. */
export async function makeStudyReport(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const file = join(dir, `${STUDY_NAME}.yaml`);
  writeFileSync(file, study());
  const db = join(dir, "study.db");
  const studyEnv = { ...env, KIELO_DB: db };
  await run(["study", "run", file], dir, studyEnv);
  await run(["study", "report", file], dir, studyEnv);
  return db;
}
