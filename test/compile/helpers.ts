/** Shared bits of the compile tests: fixture paths, temporary record files, reading results back. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KieloRecord, Message } from "../../src/data/records.ts";
import { compileFolder, type CompileFolderOptions } from "../../src/compile/compile-folder.ts";
import { openCompiled, type CompiledData } from "../../src/compile/read-compiled.ts";
import { loadTokenizer, type LoadedTokenizer } from "../../src/tokenize/tokenizer-folder.ts";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const fixtures = join(root, "test/fixtures/chat");
export const tokenizerDirs = {
  qwen3: join(root, "fixtures/tokenizers/qwen3"),
  llama3: join(root, "fixtures/tokenizers/llama3"),
  mistral: join(root, "fixtures/tokenizers/mistral-7b"),
  stories: join(root, "fixtures/models/stories260K/hf"),
};

const cache = new Map<string, LoadedTokenizer>();
export function tokenizer(name: keyof typeof tokenizerDirs): LoadedTokenizer {
  let t = cache.get(name);
  if (t === undefined) {
    t = loadTokenizer(tokenizerDirs[name]);
    cache.set(name, t);
  }
  return t;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "kielo-compile-"));
}

export function writeRecords(records: readonly KieloRecord[], dir = tempDir()): string {
  const path = join(dir, "records.jsonl");
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return path;
}

export function conversation(id: string, messages: Message[], meta: Record<string, unknown> = {}): KieloRecord {
  return { kind: "conversation", id, messages, meta };
}

export function fixtureRecords(file: string): KieloRecord[] {
  return readFileSync(join(fixtures, file), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as KieloRecord);
}

export const defaults: CompileFolderOptions = { policy: "all", maxLength: null, truncation: "drop", pack: null };

/** Compile into a fresh folder and open the result. */
export async function compileAndOpen(
  records: string,
  tok: keyof typeof tokenizerDirs,
  options: Partial<CompileFolderOptions> = {},
): Promise<CompiledData> {
  const out = join(tempDir(), "compiled");
  await compileFolder(records, tokenizer(tok), out, { ...defaults, ...options });
  return openCompiled(out);
}

export function documentOf(data: CompiledData, d: number): { ids: number[]; trained: number[] } {
  const { start, end } = data.documentRange(d);
  return { ids: Array.from(data.tokens.subarray(start, end)), trained: Array.from(data.trained.subarray(start, end)) };
}
