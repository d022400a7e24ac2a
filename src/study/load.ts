/**
 * Reading a study file: YAML → schema → cross-checks (a mix names languages that have data, DPO
 * data names preference languages, …). Every error names the file, the line and the key path, and
 * says what would fix it. Relative paths are resolved against the study file's folder.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { LineCounter, parseDocument, YAMLParseError, type Document } from "yaml";
import type { z } from "zod";
import { KieloError } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";
import { StudySchema, type Source, type Study } from "./schema.ts";

export interface LoadedStudy {
  study: Study;
  /** Absolute path of the study file. */
  file: string;
  text: string;
  /** `file:line` of a key path (or of its nearest existing parent), for errors found later. */
  at: (keyPath: readonly (string | number)[]) => string;
}

const HINT = "See studies/tiny.yaml for a complete example and docs/study.md for every key.";

export async function loadStudy(path: string): Promise<LoadedStudy> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new KieloError(`cannot read study file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const where = yamlError instanceof YAMLParseError ? `:${lines.linePos(yamlError.pos[0]).line}` : "";
    throw new KieloError(`${path}${where}: invalid YAML: ${yamlError.message.split("\n")[0]}`, { hint: HINT });
  }
  const at = (keyPath: readonly (string | number)[]): string => {
    // The deepest node that exists: a missing key is reported at its parent's line.
    for (let n = keyPath.length; n >= 0; n--) {
      const node = doc.getIn(keyPath.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const offset = node?.range?.[0];
      if (offset !== undefined) return `${path}:${lines.linePos(offset).line}`;
    }
    return path;
  };
  const parsed = StudySchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => describeIssue(issue, at));
    throw new KieloError(`${path}: invalid study:\n${problems.join("\n")}`, { hint: HINT });
  }
  const study = parsed.data;
  crossCheck(study, (keyPath, message, hint) => {
    throw new KieloError(`${at(keyPath)}: ${keyPath.join(".")}: ${message}`, { hint: hint ?? HINT });
  });
  resolvePaths(study, dirname(file), doc);
  return { study, file, text, at };
}

function describeIssue(issue: z.core.$ZodIssue, at: (p: readonly (string | number)[]) => string): string {
  const keyPath = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  const field = keyPath.join(".") || "(top level)";
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `  ${at([...keyPath, key])}: ${[...keyPath, key].join(".")}: unknown key${didYouMean(key, knownKeys(keyPath))}`).join("\n");
  }
  if (issue.code === "invalid_union") {
    return `  ${at(keyPath)}: ${field}: not one of the accepted forms (${unionForms(keyPath)})`;
  }
  const message = issue.code === "invalid_type" && /received undefined$/.test(issue.message) ? "required, but missing" : issue.message;
  return `  ${at(keyPath)}: ${field}: ${message}`;
}

function unionForms(keyPath: readonly (string | number)[]): string {
  if (keyPath[0] === "data") return "a records file, {file, format}, or {pairs_from}";
  if (keyPath.at(-1) === "from") return "{best: <metric>} or {sft: <mix>/<variant>}";
  return "see docs/study.md";
}

/** Keys accepted at a key path, for "did you mean". */
function knownKeys(keyPath: readonly (string | number)[]): string[] {
  let schema: unknown = StudySchema;
  for (const key of [...keyPath.filter((k) => typeof k === "string"), null]) {
    while (schema !== null && typeof schema === "object" && !("shape" in schema)) {
      const inner = (schema as { unwrap?: () => unknown; def?: { valueType?: unknown } });
      if (typeof inner.unwrap === "function") schema = inner.unwrap();
      else if (inner.def?.valueType !== undefined) schema = inner.def.valueType;
      else return [];
    }
    const shape = (schema as { shape?: Record<string, unknown> } | null)?.shape;
    if (shape === undefined) return [];
    if (key === null) return Object.keys(shape);
    schema = shape[key] ?? (schema as { def?: { valueType?: unknown } }).def?.valueType;
  }
  return [];
}

type Fail = (keyPath: (string | number)[], message: string, hint?: string) => never;

/** What the schema alone cannot see: names that must refer to each other. */
function crossCheck(study: Study, fail: Fail): void {
  const instructionLangs = Object.keys(study.data.instructions);
  for (const key of ["base", "add"] as const) {
    if (!instructionLangs.includes(study.mixes[key])) {
      fail(["mixes", key], `no instruction data for language ${JSON.stringify(study.mixes[key])}`, `data.instructions has: ${instructionLangs.join(", ") || "nothing"}.`);
    }
  }
  const mixes = mixNames(study);
  for (const [variant, spec] of Object.entries(study.sft.variants)) {
    spec.mixes?.forEach((mix, i) => {
      if (!mixes.includes(mix)) fail(["sft", "variants", variant, "mixes", i], `unknown mix ${JSON.stringify(mix)}${didYouMean(mix, mixes)}`, `The mixes are: ${mixes.join(", ")}.`);
    });
  }
  if (study.dpo !== undefined) {
    const prefLangs = Object.keys(study.data.preferences);
    for (const [choice, langs] of Object.entries(study.dpo.data)) {
      langs.forEach((lang, i) => {
        if (!prefLangs.includes(lang)) fail(["dpo", "data", choice, i], `no preference data for language ${JSON.stringify(lang)}`, `data.preferences has: ${prefLangs.join(", ") || "nothing"}.`);
      });
    }
    const from = study.dpo.from;
    if ("sft" in from) {
      const models = sftModels(study).map((m) => `${m.mix}/${m.variant}`);
      if (!models.includes(from.sft)) fail(["dpo", "from", "sft"], `unknown SFT model ${JSON.stringify(from.sft)}${didYouMean(from.sft, models)}`, `SFT models are <mix>/<variant>: ${models.join(", ")}.`);
    } else {
      const needs: Record<string, [boolean, string]> = {
        "ifeval-en": [study.eval.ifeval["en"] !== undefined, "eval.ifeval.en"],
        "ifeval-target": [study.eval.ifeval[study.target] !== undefined, `eval.ifeval.${study.target}`],
        share: [study.eval.share !== undefined, "eval.share"],
        "heldout-loss": [study.eval.heldout !== undefined, "eval.heldout"],
      };
      const [ok, key] = needs[from.best]!;
      if (!ok) fail(["dpo", "from", "best"], `choosing by ${from.best} needs ${key}`, `Add ${key}, or name the SFT model: from: {sft: <mix>/<variant>}.`);
    }
  }
}

export function mixName(study: Study, fraction: number): string {
  return `${study.mixes.base}-${study.mixes.add}-${Math.round(fraction * 1000) / 10}pct`;
}

export function mixNames(study: Study): string[] {
  return study.mixes.fractions.map((f) => mixName(study, f));
}

export interface SftModel {
  mix: string;
  fraction: number;
  variant: string;
}

/** Every SFT model of the study: each variant on each of its mixes. */
export function sftModels(study: Study): SftModel[] {
  const out: SftModel[] = [];
  for (const fraction of study.mixes.fractions) {
    const mix = mixName(study, fraction);
    for (const [variant, spec] of Object.entries(study.sft.variants)) {
      if (spec.mixes === undefined || spec.mixes.includes(mix)) out.push({ mix, fraction, variant });
    }
  }
  return out;
}

function resolvePaths(study: Study, base: string, _doc: Document): void {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const source = (s: Source): Source => (typeof s === "string" ? at(s) : "file" in s ? { ...s, file: at(s.file) } : { ...s, pairs_from: at(s.pairs_from) });
  study.model = at(study.model);
  for (const group of [study.data.instructions, study.data.preferences]) {
    for (const lang of Object.keys(group)) group[lang] = source(group[lang]!);
  }
  study.sft.recipe = at(study.sft.recipe);
  if (study.dpo) study.dpo.recipe = at(study.dpo.recipe);
  for (const lang of Object.keys(study.eval.ifeval)) study.eval.ifeval[lang] = at(study.eval.ifeval[lang]!);
  if (study.eval.share) study.eval.share.prompts = at(study.eval.share.prompts);
  if (study.eval.heldout) study.eval.heldout = at(study.eval.heldout);
  const template = study.eval.generation.template;
  if (template?.startsWith("file:")) study.eval.generation.template = `file:${at(template.slice(5))}`;
}
