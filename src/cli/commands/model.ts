/**
 * `kielo model import <file.gguf> --out <dir>`: a GGUF model file (llama.cpp's format) as a Hugging
 * Face model folder that every other command takes. The engine dequantises it with transformers'
 * GGUF loader (engine/kielo_engine/gguf_import.py, which needs the Python package `gguf`) and takes
 * the special tokens from the GGUF header.
 */
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { hashFile } from "../../compile/compile-folder.ts";
import { hintFor } from "../../engine/events.ts";
import { findPython } from "../../engine/python.ts";
import { runEngine } from "../../engine/run.ts";
import { prepareFolderOutput } from "../../util/atomic.ts";
import { KieloError } from "../../util/errors.ts";

interface ImportOptions {
  out: string;
  dtype: "bf16" | "fp32";
  sha256?: string;
  force?: boolean;
  python?: string;
  quiet?: boolean;
}

export function registerModel(program: Command): void {
  const model = program.command("model").description("model folders: import a GGUF file as a Hugging Face folder");
  model
    .command("import")
    .description("write a Hugging Face folder (safetensors, tokenizer, chat template, special tokens) from a GGUF file")
    .argument("<file.gguf>", "the GGUF model file")
    .requiredOption("--out <dir>", "the new model folder (written under a temporary name, renamed when complete)")
    .addOption(new Option("--dtype <dtype>", "dtype of the written weights").choices(["bf16", "fp32"]).default("bf16"))
    .option("--sha256 <hex>", "refuse the file unless its sha256 is this")
    .option("--force", "replace an existing --out folder")
    .option("--python <path>", "Python interpreter for the engine (needs the `gguf` package)")
    .option("--quiet", "no progress")
    .action((file: string, options: ImportOptions) => importCommand(file, options));
}

async function importCommand(file: string, options: ImportOptions): Promise<void> {
  const path = resolve(file);
  const out = resolve(options.out);
  if (!existsSync(path)) throw new KieloError(`${path} does not exist`, { hint: "Give the path of a .gguf file." });
  if (existsSync(out) && !options.force && nonEmpty(out)) {
    throw new KieloError(`${out} exists and is not empty`, { hint: "Choose another --out, or pass --force to replace it." });
  }
  await prepareFolderOutput(out);
  if (options.sha256 !== undefined) {
    const want = options.sha256.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(want)) throw new KieloError(`--sha256 must be 64 hex digits, got ${JSON.stringify(options.sha256)}`);
    const { sha256 } = await hashFile(path);
    if (sha256 !== want) {
      throw new KieloError(`${path}: sha256 is ${sha256}, expected ${want}`, { hint: "The file is not the one you meant, or it is damaged: download it again." });
    }
  }
  const args = ["import-gguf", "--gguf", path, "--out", out, "--dtype", options.dtype];
  if (options.force) args.push("--force");
  const result = await runEngine({
    python: findPython(options.python),
    args,
    // The error event carries the message; a crash's stderr tail goes into the error below.
    passStderr: false,
    onEvent: (event) => {
      if (event.type === "progress" && event.phase !== undefined && !options.quiet) process.stderr.write(`import: ${event.phase}\n`);
    },
  });
  if (result.error) {
    const hint = hintFor(result.error);
    throw new KieloError(`import failed: ${result.error.message}`, hint ? { hint } : {});
  }
  if (!result.done || result.exitCode !== 0) {
    throw new KieloError(`import failed (exit ${result.signal ?? result.exitCode}):\n${result.stderrTail.slice(-8).join("\n")}`);
  }
  const done = result.done;
  const special = Object.entries(done.special_tokens ?? {})
    .map(([name, t]) => `${name.replace(/_token$/, "")} ${t.token} (${t.id})`)
    .join(", ");
  const params = typeof done.params === "number" ? `${(done.params / 1e6).toFixed(1)}M parameters` : "";
  process.stdout.write(
    `imported ${done.name ?? file} (${[done.architecture, params, options.dtype].filter(Boolean).join(", ")}) → ${out}\n` +
      (special ? `special tokens from the GGUF header: ${special}\n` : ""),
  );
}

function nonEmpty(path: string): boolean {
  try {
    return readdirSync(path).length > 0;
  } catch {
    return true;
  }
}
