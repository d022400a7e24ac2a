/**
 * Loading a Hugging Face tokenizer folder: `tokenizer.json` (or `tokenizer.json.gz`, decompressed in
 * memory) plus `tokenizer_config.json` and the chat template files (chat-template-files.ts), through Hugging Face's Rust `tokenizers` for Node — the same
 * code that backs transformers' fast tokenizers, so token ids equal Python's.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { Tokenizer } from "tokenizers";
import { KieloError } from "../util/errors.ts";
import { readChatTemplates } from "./chat-template-files.ts";
import { readSpecialTokens, type SpecialTokens } from "./special-tokens.ts";

export interface LoadedTokenizer {
  /** Absolute path of the folder it was loaded from. */
  readonly dir: string;
  readonly tokenizer: Tokenizer;
  /** sha256 (hex) of the decompressed `tokenizer.json` bytes. */
  readonly sha256: string;
  /** Vocabulary size including added tokens. */
  readonly vocabSize: number;
  readonly special: SpecialTokens;
  /** The model's default chat template, if the config has one. */
  readonly chatTemplate: string | undefined;
  /** All chat templates by name; the plain string form (and `chat_template.jinja`) is `default`. */
  readonly chatTemplates: Readonly<Record<string, string>>;
  /** Where the templates were read from (chat-template-files.ts), or undefined when the folder has none. */
  readonly chatTemplateSource: string | undefined;
}

/**
 * `what` names the folder in messages as the user gave it: `tokenizer folder` (--tokenizer), or
 * `--model folder` where a model folder's tokenizer is loaded.
 */
export function loadTokenizer(folder: string, what = "tokenizer folder"): LoadedTokenizer {
  const dir = resolve(folder);
  if (!existsSync(dir)) throw new KieloError(`${what} ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new KieloError(`${what} ${dir} is a file, not a folder`);
  const jsonPath = join(dir, "tokenizer.json");
  const gzPath = `${jsonPath}.gz`;
  let bytes: Buffer;
  if (existsSync(jsonPath)) bytes = readFileSync(jsonPath);
  else if (existsSync(gzPath)) {
    try {
      bytes = gunzipSync(readFileSync(gzPath));
    } catch (error) {
      throw new KieloError(`${gzPath}: not a valid gzip file (${(error as Error).message})`);
    }
  } else {
    throw new KieloError(`${what} ${dir} has no tokenizer.json (nor tokenizer.json.gz)`, {
      hint: "Point --tokenizer at a Hugging Face model or tokenizer folder that contains tokenizer.json and tokenizer_config.json.",
    });
  }
  const configPath = join(dir, "tokenizer_config.json");
  if (!existsSync(configPath)) {
    throw new KieloError(`${what} ${dir} has no tokenizer_config.json`, {
      hint: "It names the special tokens (bos, eos, pad) and holds the chat template; copy it from the model's repository.",
    });
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new KieloError(`${configPath}: malformed JSON (${(error as Error).message})`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new KieloError(`${configPath}: expected a JSON object`);
  }

  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromString(bytes.toString("utf8"));
  } catch (error) {
    throw new KieloError(`${existsSync(jsonPath) ? jsonPath : gzPath}: not a tokenizer the tokenizers library can load (${(error as Error).message})`);
  }
  const chatTemplates = readChatTemplates(dir, config, configPath);
  return {
    dir,
    tokenizer,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    vocabSize: tokenizer.getVocabSize(true),
    special: readSpecialTokens(config, configPath, (token) => tokenizer.tokenToId(token) ?? null),
    chatTemplate: chatTemplates.templates["default"],
    chatTemplates: chatTemplates.templates,
    chatTemplateSource: chatTemplates.source,
  };
}
