/**
 * What the Slurm executor tests share: a real test cluster (slurm-cluster.ts), a workspace with
 * its own kielo.db, an executor that polls often, and steps that run real kielo commands with the
 * tiny model. `stop()` stops the cluster and removes the workspace.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { StepJob } from "../../src/study/executor.ts";
import { SlurmExecutor, slurmExecutorOptions } from "../../src/study/executors/slurm.ts";
import { startSlurmCluster, type SlurmCluster } from "./slurm-cluster.ts";

export const root = new URL("../../", import.meta.url).pathname;
export const kielo = join(root, "bin", "kielo.js");
export const model = join(root, "fixtures", "models", "stories260K", "hf");
export const examples = join(root, "examples", "tiny-train");

export interface Testbed {
  cluster: SlurmCluster;
  workspace: string;
  db: string;
  executor: SlurmExecutor;
  /** A step running `kielo <args>` in the workspace, logging to steps/<id>/log.txt. */
  step(id: string, args: string[], dependsOn?: string[]): StepJob;
  /** A tiny SFT recipe (LoRA unless `lora` is false) writing runs/<name>; data: the example records by default. */
  sftRecipe(name: string, epochs: number, data?: string, lora?: boolean): Promise<string>;
  /** The status of the latest SFT run labelled `name` in the workspace's kielo.db. */
  runStatus(name: string): string | undefined;
  stop(): Promise<void>;
}

/** `gpus`: the test cluster's node announces this many (stand-in) GPUs. */
export async function slurmTestbed(options: { gpus?: number } = {}): Promise<Testbed> {
  const cluster = await startSlurmCluster(options);
  const workspace = await mkdtemp(join(tmpdir(), "kielo-slurm-steps-"));
  const db = join(workspace, "kielo.db");
  return {
    cluster,
    workspace,
    db,
    executor: new SlurmExecutor(slurmExecutorOptions({ partition: cluster.partition, poll_seconds: 0.3 })),
    step: (id, args, dependsOn = []) => ({
      id,
      argv: [process.execPath, kielo, ...args],
      cwd: workspace,
      env: { KIELO_DB: db, OMP_NUM_THREADS: "1" },
      gpus: 0,
      logPath: join(workspace, "steps", id, "log.txt"),
      dependsOn,
    }),
    sftRecipe: async (name, epochs, data = join(examples, "sft-fi.jsonl"), lora = true) => {
      const path = join(workspace, `${name}.yaml`);
      const recipe = {
        method: "sft",
        model,
        dtype: "fp32",
        data: { train: data, template: "llama-2", policy: "assistant", max_length: 128 },
        ...(lora ? { adapter: { type: "lora", r: 4, alpha: 8, dropout: 0 } } : {}),
        training: { epochs, micro_batch_size: 8, global_batch_size: 16, lr: 2e-3, seed: 1, save_every_steps: 2 },
        output: join(workspace, "runs", name),
      };
      await writeFile(path, JSON.stringify(recipe)); // JSON is YAML
      return path;
    },
    runStatus: (name) => {
      const handle = new DatabaseSync(db, { readOnly: true });
      try {
        const row = handle.prepare("SELECT status FROM runs WHERE kind = 'sft' AND label = ? ORDER BY id DESC LIMIT 1").get(name) as { status: string } | undefined;
        return row?.status;
      } finally {
        handle.close();
      }
    },
    stop: async () => {
      await cluster.stop();
      await rm(workspace, { recursive: true, force: true });
    },
  };
}
