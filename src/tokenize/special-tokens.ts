/**
 * Named special tokens from `tokenizer_config.json`, as transformers reads them: each is a string
 * or an AddedToken object `{"content": "<s>", …}`, or null/absent.
 */
import { KieloError } from "../util/errors.ts";

export const SPECIAL_TOKEN_NAMES = [
  "bos_token",
  "eos_token",
  "unk_token",
  "sep_token",
  "pad_token",
  "cls_token",
  "mask_token",
] as const;
export type SpecialTokenName = (typeof SPECIAL_TOKEN_NAMES)[number];

export interface SpecialToken {
  token: string;
  /** Its id in the vocabulary, or null if the vocabulary lacks it. */
  id: number | null;
}

export type SpecialTokens = Readonly<Record<SpecialTokenName, SpecialToken | null>>;

export function readSpecialTokens(
  config: Record<string, unknown>,
  configPath: string,
  idOf: (token: string) => number | null,
): SpecialTokens {
  const out = {} as Record<SpecialTokenName, SpecialToken | null>;
  for (const name of SPECIAL_TOKEN_NAMES) {
    const raw = config[name];
    let token: string | null;
    if (raw === undefined || raw === null) token = null;
    else if (typeof raw === "string") token = raw;
    else if (typeof raw === "object" && typeof (raw as { content?: unknown }).content === "string") {
      token = (raw as { content: string }).content;
    } else {
      throw new KieloError(`${configPath}: ${name} must be a string or {"content": string}`);
    }
    out[name] = token === null ? null : { token, id: idOf(token) };
  }
  return out;
}

/** The variables transformers passes to a chat template: each named special token that is set. */
export function specialTokenStrings(special: SpecialTokens): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SPECIAL_TOKEN_NAMES) {
    const t = special[name];
    if (t !== null) out[name] = t.token;
  }
  return out;
}
