/**
 * `manifest.json` of a compiled-data folder (docs/formats.md §2): what went in (source, tokenizer,
 * template, policy, limits) and what came out (counts).
 */
import { z } from "zod";
import { TRUNCATIONS } from "./truncate.ts";

export const MANIFEST_FORMAT = "kielo-compiled";
export const MANIFEST_VERSION = 1;

export const POLICIES = ["all", "assistant", "last-assistant"] as const;
export type Policy = (typeof POLICIES)[number];

const TemplateUseSchema = z.object({ name: z.string(), sha256: z.string(), rows: z.number().int().optional() });

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  kind: z.enum(["sft", "preference"]),
  tokenizer: z.object({
    sha256: z.string(),
    path: z.string().optional(),
    vocab_size: z.number().int(),
    bos_token_id: z.number().int().nullable(),
    eos_token_id: z.number().int().nullable(),
    pad_token_id: z.number().int().nullable(),
  }),
  /** The template used for every row; `per-record` with `templates` when records chose different ones. */
  template: TemplateUseSchema.extend({ templates: z.array(TemplateUseSchema).optional() }),
  /** SFT: which tokens are trained. Preference data: always `completion` (the replies). */
  policy: z.enum([...POLICIES, "completion"]),
  max_length: z.number().int().nullable(),
  truncation: z.enum(TRUNCATIONS),
  packing: z.object({ seq_len: z.number().int(), algorithm: z.literal("best-fit-decreasing") }).nullable(),
  rows_in: z.number().int(),
  rows_out: z.number().int(),
  dropped: z.record(z.string(), z.number().int()),
  documents: z.number().int(),
  sequences: z.number().int(),
  tokens: z.number().int(),
  trained_tokens: z.number().int(),
  truncated: z.number().int(),
  source: z.object({ path: z.string(), sha256: z.string() }),
  created_at: z.string(),
  kielo_version: z.string(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** The manifest fields that decide what a compile produces; equal inputs give an equal compile. */
export interface CompileInputs {
  source_sha256: string;
  tokenizer_sha256: string;
  /** Known up front only when the user chose a template explicitly (otherwise records may choose). */
  template_sha256: string | null;
  policy: Manifest["policy"] | null;
  max_length: number | null;
  truncation: Manifest["truncation"];
  packing: Manifest["packing"];
}

export function inputsOfManifest(m: Manifest): CompileInputs {
  return {
    source_sha256: m.source.sha256,
    tokenizer_sha256: m.tokenizer.sha256,
    template_sha256: m.template.sha256,
    policy: m.policy,
    max_length: m.max_length,
    truncation: m.truncation,
    packing: m.packing,
  };
}

/**
 * The names of the inputs in which `existing` differs from `wanted`. A `null` template or policy in
 * `wanted` means "not known yet" and is not compared.
 */
export function differingInputs(existing: CompileInputs, wanted: CompileInputs): string[] {
  const out: string[] = [];
  if (existing.source_sha256 !== wanted.source_sha256) out.push("source data");
  if (existing.tokenizer_sha256 !== wanted.tokenizer_sha256) out.push("tokenizer");
  if (wanted.template_sha256 !== null && existing.template_sha256 !== wanted.template_sha256) out.push("chat template");
  if (wanted.policy !== null && existing.policy !== wanted.policy) out.push("policy");
  if (existing.max_length !== wanted.max_length) out.push("max length");
  if (existing.truncation !== wanted.truncation) out.push("truncation");
  if (JSON.stringify(existing.packing) !== JSON.stringify(wanted.packing)) out.push("packing");
  return out;
}
