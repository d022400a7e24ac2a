/**
 * Translated study data: a `translate/<lang>-<group>` step (`kielo translate`) and, unless the
 * study turns it off, a `clean/<lang>-<group>` step (`kielo clean`) whose kept records feed the
 * mixes or DPO exactly as a records file would. Both are ordinary kielo commands; the translation
 * cache lives in kielo.db, so a forced or changed translate step only sends what was never sent.
 */
import { join } from "node:path";
import type { PlanStep } from "./plan.ts";
import type { TranslatedSource } from "./schema.ts";

export interface DataFile {
  file: string;
  step?: string;
}

/** The command-line flag of each `translate.options` key. */
const FLAGS: Record<string, string> = {
  endpoint: "--endpoint", concurrency: "--concurrency", timeout: "--timeout", max_retries: "--max-retries", retry_delay: "--retry-delay",
  max_tokens: "--max-tokens", temperature: "--temperature", top_p: "--top-p", seed: "--seed", max_chars: "--max-chars",
  prompt_file: "--prompt-file", translate_json: "--translate-json", adapter: "--adapter", batch_size: "--batch-size",
  chunk_size: "--chunk-size", device: "--device", dtype: "--dtype",
};

export function translateSteps(
  group: string,
  lang: string,
  source: TranslatedSource,
  /** The data translated: another source of the group (maybe made by a step), or a records file. */
  origin: DataFile & { lang: string },
  dirOf: (id: string) => string,
  add: (step: Omit<PlanStep, "dir">) => void,
  /** GPUs of a generation step: the engine backend translates with a local model. */
  generateGpus: number,
): DataFile {
  const t = source.translate;
  const translateId = `translate/${lang}-${group}`;
  const translated = join(dirOf(translateId), "translated.jsonl");
  const options = Object.entries(t.options).flatMap(([key, value]) => (value === false ? [] : value === true ? [FLAGS[key]!] : [FLAGS[key]!, String(value)]));
  add({
    id: translateId, kind: "translate", deps: origin.step === undefined ? [] : [origin.step],
    inputs: [origin.file, ...(t.options.prompt_file ? [t.options.prompt_file] : []), ...(t.backend === "engine" ? [t.model] : []), ...(t.options.adapter ? [t.options.adapter] : [])],
    gpus: t.backend === "engine" ? generateGpus : 0, args: [
      "translate", origin.file, "--from", origin.lang, "--to", lang, "--out", translated, "--backend", t.backend, "--model", t.model,
      ...(t.base_url ? ["--base-url", t.base_url] : []), ...(t.api_key_env ? ["--api-key-env", t.api_key_env] : []), ...options, "--quiet",
    ],
  });
  if (source.clean === false) return { file: translated, step: translateId };
  const cleanId = `clean/${lang}-${group}`;
  const cleaned = join(dirOf(cleanId), "records.jsonl");
  add({
    id: cleanId, kind: "clean", deps: [translateId], inputs: source.clean.config ? [source.clean.config] : [], gpus: 0, args: [
      "clean", translated, "--out", cleaned, "--report", join(dirOf(cleanId), "report.json"), "--lang", lang,
      ...(source.clean.config ? ["--config", source.clean.config] : []), "--quiet",
    ],
  });
  return { file: cleaned, step: cleanId };
}
