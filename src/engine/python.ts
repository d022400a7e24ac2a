/**
 * Finding the Python interpreter that runs the engine.
 *
 * Looked for in this order, first match wins:
 *   1. `--python` on the command line,
 *   2. `$KIELO_PYTHON`,
 *   3. `python:` in `kielo.yaml` in the current folder (the workspace config),
 *   4. `.venv/bin/python` in the current folder, then in kielo's own folder (made by `npm run setup`),
 *   5. `python3` on PATH.
 * The engine package is put on PYTHONPATH from kielo's own `engine/` folder, so any Python with
 * torch, transformers, peft and safetensors can run it without installing it.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { KieloError } from "../util/errors.ts";

export const KIELO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ENGINE_DIR = join(KIELO_ROOT, "engine");

export interface PythonChoice {
  path: string;
  /** Where the choice came from, for `kielo doctor` and error messages. */
  source: string;
}

export function findPython(explicit?: string): PythonChoice {
  if (explicit) return { path: explicit, source: "--python" };
  const fromEnv = process.env["KIELO_PYTHON"];
  if (fromEnv) return { path: fromEnv, source: "KIELO_PYTHON" };
  const config = resolve("kielo.yaml");
  if (existsSync(config)) {
    const parsed = parseYaml(readFileSync(config, "utf8")) as { python?: unknown } | null;
    if (parsed && typeof parsed.python === "string") return { path: parsed.python, source: `${config} (python:)` };
  }
  for (const venv of [resolve(".venv"), join(KIELO_ROOT, ".venv")]) {
    const candidate = join(venv, "bin", "python");
    if (existsSync(candidate)) return { path: candidate, source: `virtual environment ${venv}` };
  }
  return { path: "python3", source: "PATH" };
}

/**
 * Environment for an engine process: the engine importable, output unbuffered, the libraries' own
 * progress bars off (kielo draws one from the engine's events), and this process's pid, which the
 * engine watches so that it ends when kielo does, even when kielo is killed outright
 * (engine/kielo_engine/parent_watch.py).
 */
export function engineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const pythonPath = [ENGINE_DIR, process.env["PYTHONPATH"]].filter(Boolean).join(":");
  return {
    HF_HUB_DISABLE_PROGRESS_BARS: "1",
    ...process.env,
    PYTHONPATH: pythonPath,
    PYTHONUNBUFFERED: "1",
    // Python randomises string hashing per process, and so the order of sets, which peft writes
    // into adapter_config.json (target_modules): a fixed seed keeps outputs the same run to run.
    PYTHONHASHSEED: process.env["PYTHONHASHSEED"] ?? "0",
    KIELO_PARENT_PID: String(process.pid),
    ...extra,
  };
}

export function pythonNotFound(choice: PythonChoice, detail: string): KieloError {
  return new KieloError(`cannot run the engine with ${choice.path} (from ${choice.source}): ${detail}`, {
    hint:
      "Run `npm run setup` in the kielo folder, or point KIELO_PYTHON at a Python with torch, transformers, " +
      "peft and safetensors (`kielo doctor` shows what is found).",
  });
}
