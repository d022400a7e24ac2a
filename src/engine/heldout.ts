/**
 * Held-out loss on the local engine (`python -m kielo_engine heldout`): TypeScript compiles the
 * records (template, policy, length, as training does); the engine runs the model, with its adapter
 * when there is one, and returns Σ NLL over the trained tokens / their count.
 */
import { resolve } from "node:path";
import { interrupted, KieloError } from "../util/errors.ts";
import { hintFor } from "./events.ts";
import type { PythonChoice } from "./python.ts";
import { runEngine } from "./run.ts";

export interface HeldoutOptions {
  python: PythonChoice;
  modelDir: string;
  adapterDir?: string | undefined;
  /** A compiled, unpacked SFT folder. */
  dataDir: string;
  batchSize: number;
  device?: string | undefined;
  dtype?: "bf16" | "fp16" | "fp32" | undefined;
  onProgress?: (done: number, total: number) => void;
}

export interface HeldoutResult {
  loss: number;
  /** Trained tokens the loss is averaged over. */
  tokens: number;
  documents: number;
}

export async function engineHeldoutLoss(options: HeldoutOptions): Promise<HeldoutResult> {
  const args = ["heldout", "--model", resolve(options.modelDir), "--data", resolve(options.dataDir), "--batch-size", String(options.batchSize)];
  if (options.adapterDir) args.push("--adapter", resolve(options.adapterDir));
  if (options.device) args.push("--device", options.device);
  if (options.dtype) args.push("--dtype", options.dtype);
  const result = await runEngine({
    python: options.python,
    args,
    passStderr: false,
    onEvent: (event) => {
      if (event.type === "progress" && event.done !== undefined && event.total !== undefined) options.onProgress?.(event.done, event.total);
    },
  });
  const what = options.adapterDir ? `${options.modelDir} + ${options.adapterDir}` : options.modelDir;
  if (result.stoppedBy !== undefined) throw interrupted(result.stoppedBy, "held-out loss", "Run the same command again.");
  if (result.error) {
    const hint = hintFor(result.error);
    throw new KieloError(`held-out loss of ${what} failed: ${result.error.message}`, hint ? { hint } : {});
  }
  const done = result.done;
  if (result.exitCode !== 0 || typeof done?.eval_loss !== "number" || done.tokens === undefined || done.requests === undefined) {
    throw new KieloError(`held-out loss of ${what} failed (exit ${result.signal ?? result.exitCode}):\n${result.stderrTail.slice(-8).join("\n")}`);
  }
  return { loss: done.eval_loss, tokens: done.tokens, documents: done.requests };
}
