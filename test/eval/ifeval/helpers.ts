/** Shared by the IFEval tests: fixture paths, response fixtures, and the Python reference peer. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { brotliDecompressSync } from "node:zlib";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../../fixtures/ifeval/", import.meta.url));
export const PYTHON = process.env["KIELO_PYTHON"] ?? `${REPO}.venv/bin/python`;
const REFERENCE_SCRIPT = fileURLToPath(new URL("./reference_ifeval.py", import.meta.url));

/** The M-IFEval response sets (Brotli-compressed JSONL of {prompt, response}). */
export const RESPONSE_SETS = {
  "gpt-4o": "m-ifeval-gpt-4o-responses.jsonl.br",
  "qwen2.5-0.5b": "m-ifeval-qwen2.5-0.5b-responses.jsonl.br",
} as const;
export type ResponseSetName = keyof typeof RESPONSE_SETS;

/** M-IFEval's copy of the 541 prompts (HF wording of key 2785, `en:` ids). */
export const M_IFEVAL_PROMPTS = `${FIXTURES}m-ifeval-en_input_data.jsonl`;

export function readResponseSet(name: ResponseSetName): { prompt: string; response: string }[] {
  const text = brotliDecompressSync(readFileSync(`${FIXTURES}${RESPONSE_SETS[name]}`)).toString("utf8");
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { prompt: string; response: string });
}

export interface ReferenceCase {
  instruction_id_list: string[];
  kwargs: Record<string, unknown>[];
  prompt: string;
  response: string;
}

export interface ReferenceVerdict {
  strict: boolean[];
  loose: boolean[];
}

/** Score every case with lm-eval's IFEval in one Python process. */
export function runReference(cases: readonly ReferenceCase[]): ReferenceVerdict[] {
  const run = spawnSync(PYTHON, [REFERENCE_SCRIPT], {
    input: JSON.stringify({ cases }),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`reference scorer failed (${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout) as ReferenceVerdict[];
}
