/** `kielo merge <adapter> --out <dir>`: fold a LoRA/QLoRA adapter into full Hugging Face weights. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { hintFor } from "../../engine/events.ts";
import { findPython } from "../../engine/python.ts";
import { runEngine } from "../../engine/run.ts";
import { prepareFolderOutput } from "../../util/atomic.ts";
import { interrupted, KieloError } from "../../util/errors.ts";

interface MergeOptions {
  out: string;
  base?: string;
  dtype: string;
  python?: string;
}

export function registerMerge(program: Command): void {
  program
    .command("merge")
    .description("merge a LoRA/QLoRA adapter into its base model: a full model in Hugging Face format")
    .argument("<adapter>", "adapter folder (adapter_config.json + weights), e.g. runs/<job>/model")
    .requiredOption("--out <dir>", "folder for the merged model (must not exist, or be empty)")
    .option("--base <dir>", "base model folder (default: base_model_name_or_path of adapter_config.json)")
    .option("--dtype <dtype>", "dtype of the merged weights: bf16, fp16 or fp32", "bf16")
    .option("--python <path>", "Python interpreter for the engine")
    .action(async (adapter: string, options: MergeOptions) => {
      const adapterDir = resolve(adapter);
      const configPath = join(adapterDir, "adapter_config.json");
      if (!existsSync(configPath)) {
        throw new KieloError(`${adapterDir} is not an adapter folder (no adapter_config.json)`, {
          hint: "Point it at the output of a LoRA or QLoRA run (runs/<job>/model). A full fine-tune needs no merge.",
        });
      }
      const base = options.base ?? baseFromConfig(configPath);
      if (!["bf16", "fp16", "fp32"].includes(options.dtype)) {
        throw new KieloError(`--dtype must be bf16, fp16 or fp32, got ${options.dtype}`);
      }
      if (existsSync(options.out) && readdirNonEmpty(options.out)) {
        throw new KieloError(`${resolve(options.out)} exists and is not empty`, { hint: "Choose another --out." });
      }
      // Also removes the temporary folder a merge killed outright left next to --out.
      await prepareFolderOutput(resolve(options.out));
      const result = await runEngine({
        python: findPython(options.python),
        args: ["merge", "--base", resolve(base), "--adapter", adapterDir, "--out", resolve(options.out), "--dtype", options.dtype],
      });
      if (result.stoppedBy !== undefined) throw interrupted(result.stoppedBy, "merge", "Run the same command again.");
      if (result.error) throw new KieloError(`merge failed: ${result.error.message}`, hintFor(result.error) ? { hint: hintFor(result.error)! } : {});
      if (result.exitCode !== 0) {
        throw new KieloError(`merge failed (exit code ${result.exitCode}): ${result.stderrTail.slice(-3).join("\n")}`);
      }
      process.stdout.write(`merged ${adapterDir} into ${resolve(base)} → ${resolve(options.out)}\n`);
    });
}

function baseFromConfig(configPath: string): string {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as { base_model_name_or_path?: unknown };
  const base = config.base_model_name_or_path;
  if (typeof base !== "string" || base === "" || !existsSync(base)) {
    throw new KieloError(`${configPath} does not name a local base model folder (base_model_name_or_path: ${JSON.stringify(base)})`, {
      hint: "Pass --base <model folder>.",
    });
  }
  return base;
}

/** True for a non-empty folder, and for anything that is not a folder. */
function readdirNonEmpty(path: string): boolean {
  try {
    return readdirSync(path).length > 0;
  } catch {
    return true;
  }
}
