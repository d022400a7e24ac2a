/**
 * Reading a study file: YAML → schema → cross-checks (a mix names languages that have data, DPO
 * data names preference languages, …). Every error names the file, the line and the key path, and
 * says what would fix it. Relative paths are resolved against the study file's folder.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { LineCounter, parseDocument, YAMLParseError, type Document } from "yaml";
import type { z } from "zod";
import { resolvePathField } from "../train/recipe.ts";
import { KieloError } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";
import { StudySchema, type Source, type Study, type TranslatedSource } from "./schema.ts";

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

/**
 * One schema issue as `file:line: key.path: message`. Inside a union (a data source) the issues of
 * the form the value was meant as are reported — the one form that did not reject its keys or type
 * outright — so a bad value deep in a `translate` block names that key, not "not one of the forms".
 */
function describeIssue(issue: z.core.$ZodIssue, at: (p: readonly (string | number)[]) => string, prefix: (string | number)[] = []): string {
  const keyPath = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
  const field = keyPath.join(".") || "(top level)";
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `  ${at([...keyPath, key])}: ${[...keyPath, key].join(".")}: unknown key${didYouMean(key, knownKeys(keyPath))}`).join("\n");
  }
  if (issue.code === "invalid_union") {
    const outright = (issues: z.core.$ZodIssue[]) => issues.some((i) => i.path.length === 0 && (i.code === "unrecognized_keys" || i.code === "invalid_type"));
    const meant = issue.errors.filter((issues) => !outright(issues));
    if (meant.length === 1) return meant[0]!.map((inner) => describeIssue(inner, at, keyPath)).join("\n");
    return `  ${at(keyPath)}: ${field}: not one of the accepted forms (${unionForms(keyPath)})`;
  }
  const message = issue.code === "invalid_type" && /received undefined$/.test(issue.message) ? "required, but missing" : issue.message;
  return `  ${at(keyPath)}: ${field}: ${message}`;
}

function unionForms(keyPath: readonly (string | number)[]): string {
  if (keyPath[0] === "data") return "a records file, {file, format}, {translate: {from, model, …}, clean?}, or {pairs_from}";
  if (keyPath.at(-1) === "from") return "{best: <metric>} or {sft: <mix>/<variant>}";
  return "see docs/study.md";
}

type SchemaDef = { def?: { type?: string; innerType?: unknown; valueType?: unknown; element?: unknown; options?: unknown[] }; shape?: Record<string, unknown> };

/** A schema without its optional/default wrappers. */
function unwrapped(schema: unknown): SchemaDef | undefined {
  let s = schema as SchemaDef | undefined;
  while (s?.def?.innerType !== undefined) s = s.def.innerType as SchemaDef;
  return s;
}

/** The schema at a key path (through objects, records, optionals and defaults). */
function schemaAt(keyPath: readonly (string | number)[], root: unknown): SchemaDef | undefined {
  let schema = unwrapped(root);
  for (const key of keyPath) {
    if (schema?.def?.type === "record") schema = unwrapped(schema.def.valueType);
    else if (schema?.def?.type === "array") schema = unwrapped(schema.def.element);
    else if (schema?.def?.options !== undefined && typeof key === "string") schema = unwrapped(schema.def.options.map((o) => unwrapped(o)).find((o) => o?.shape?.[key] !== undefined)?.shape?.[key]);
    else if (schema?.shape !== undefined && typeof key === "string") schema = unwrapped(schema.shape[key]);
    else return undefined;
  }
  return schema;
}

/** Keys accepted at a key path, for "did you mean". */
function knownKeys(keyPath: readonly (string | number)[]): string[] {
  const schema = schemaAt(keyPath, StudySchema);
  return Object.keys(schema?.shape ?? schema?.def?.options?.map((o) => unwrapped(o)).find((o) => o?.shape !== undefined)?.shape ?? {});
}

type Fail = (keyPath: (string | number)[], message: string, hint?: string) => never;

/** What the schema alone cannot see: names that must refer to each other. */
function crossCheck(study: Study, fail: Fail): void {
  for (const [group, sources] of [["instructions", study.data.instructions], ["preferences", study.data.preferences]] as const) {
    for (const [lang, source] of Object.entries(sources)) {
      if (typeof source === "string" || !("translate" in source)) continue;
      const from = source.translate.from;
      const origin = sources[from];
      const keyPath = ["data", group, lang, "translate", "from"];
      if (from === lang) fail(keyPath, `${lang} cannot be translated from itself`, `Name the ${group} language to translate (e.g. en) or a records file.`);
      if (origin !== undefined && typeof origin !== "string" && "translate" in origin) fail(keyPath, `data.${group}.${from} is itself a translation`, "Translate from the original data instead.");
      if (origin === undefined && /^[a-z]{2,3}$/.test(from)) fail(keyPath, `no ${group} data for language ${JSON.stringify(from)}`, `data.${group} has: ${Object.keys(sources).join(", ")}; or name a records file.`);
    }
  }
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
  const translated = (s: TranslatedSource, group: Record<string, Source>): TranslatedSource => {
    const t = s.translate;
    const options = { ...t.options, ...(t.options.prompt_file ? { prompt_file: at(t.options.prompt_file) } : {}), ...(t.options.adapter ? { adapter: at(t.options.adapter) } : {}) };
    return {
      translate: { ...t, from: group[t.from] === undefined ? at(t.from) : t.from, model: t.backend === "engine" ? at(t.model) : t.model, options },
      clean: s.clean === false || s.clean.config === undefined ? s.clean : { config: at(s.clean.config) },
    };
  };
  const source = (s: Source, group: Record<string, Source>): Source =>
    typeof s === "string" ? at(s) : "file" in s ? { ...s, file: at(s.file) } : "translate" in s ? translated(s, group) : { ...s, pairs_from: at(s.pairs_from) };
  study.model = at(study.model);
  for (const group of [study.data.instructions, study.data.preferences]) {
    for (const lang of Object.keys(group)) group[lang] = source(group[lang]!, group);
  }
  // Paths in a `set` were written in the study file, so they are relative to it, not to the recipe.
  const sets = (set: Record<string, unknown>) => {
    for (const [field, value] of Object.entries(set)) set[field] = resolvePathField(field, value, at);
  };
  study.sft.recipe = at(study.sft.recipe);
  sets(study.sft.set);
  for (const variant of Object.values(study.sft.variants)) sets(variant.set);
  if (study.dpo) {
    study.dpo.recipe = at(study.dpo.recipe);
    sets(study.dpo.set);
  }
  for (const lang of Object.keys(study.eval.ifeval)) study.eval.ifeval[lang] = at(study.eval.ifeval[lang]!);
  if (study.eval.share) study.eval.share.prompts = at(study.eval.share.prompts);
  if (study.eval.heldout) study.eval.heldout = at(study.eval.heldout);
  const template = study.eval.generation.template;
  if (template?.startsWith("file:")) study.eval.generation.template = `file:${at(template.slice(5))}`;
}
