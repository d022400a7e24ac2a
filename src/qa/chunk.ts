/**
 * Chunking document blocks for question writing: a chunk is a heading and the paragraphs under it,
 * cut so that no chunk exceeds the token budget (tokens of the model's tokenizer). A new heading
 * starts a new chunk; a paragraph longer than the budget is split at sentence ends (and, for a
 * sentence longer than the budget, at words). Each chunk keeps the pages it spans.
 */
import type { Tokenizer } from "tokenizers";
import type { Block } from "./documents.ts";

export interface Chunk {
  file: string;
  /** 1-based index of the chunk in its file. */
  index: number;
  heading: string | null;
  text: string;
  tokens: number;
  /** First and last page (PDF), else null. */
  pages: [number, number] | null;
}

async function countTokens(tokenizer: Tokenizer, text: string): Promise<number> {
  return (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds().length;
}

/** Pieces of a paragraph that each fit the budget. */
async function splitParagraph(tokenizer: Tokenizer, text: string, budget: number): Promise<string[]> {
  if ((await countTokens(tokenizer, text)) <= budget) return [text];
  const sentences = text.split(/(?<=[.!?…])\s+/);
  const units = sentences.length > 1 ? sentences : text.split(/\s+/);
  const out: string[] = [];
  let current = "";
  for (const unit of units) {
    const candidate = current === "" ? unit : `${current} ${unit}`;
    if ((await countTokens(tokenizer, candidate)) <= budget) {
      current = candidate;
      continue;
    }
    if (current !== "") out.push(current);
    if ((await countTokens(tokenizer, unit)) > budget) {
      out.push(...(sentences.length > 1 ? await splitParagraph(tokenizer, unit, budget) : [unit]));
      current = "";
    } else current = unit;
  }
  if (current !== "") out.push(current);
  return out;
}

export async function chunkBlocks(file: string, blocks: readonly Block[], tokenizer: Tokenizer, budget: number): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  // Separators between parts are counted as SEPARATOR_TOKENS each, so a chunk's size is the sum of
  // its parts (counted once) rather than re-tokenising the growing chunk; the stored `tokens` is exact.
  const SEPARATOR_TOKENS = 2;
  let heading: string | null = null;
  let headingTokens = 0;
  let parts: { text: string; page: number | undefined }[] = [];
  let size = 0;
  const emit = async () => {
    if (parts.length === 0) return;
    const body = parts.map((part) => part.text).join("\n\n");
    const text = heading === null ? body : `${heading}\n\n${body}`;
    const pages = parts.map((part) => part.page).filter((page): page is number => page !== undefined);
    chunks.push({
      file,
      index: chunks.length + 1,
      heading,
      text,
      tokens: await countTokens(tokenizer, text),
      pages: pages.length === 0 ? null : [Math.min(...pages), Math.max(...pages)],
    });
    parts = [];
    size = headingTokens;
  };
  for (const block of blocks) {
    if (block.kind === "heading") {
      await emit();
      heading = block.text;
      headingTokens = (await countTokens(tokenizer, heading)) + SEPARATOR_TOKENS;
      size = headingTokens;
      continue;
    }
    for (const piece of await splitParagraph(tokenizer, block.text, Math.max(1, budget - headingTokens))) {
      const pieceTokens = await countTokens(tokenizer, piece);
      if (parts.length > 0 && size + SEPARATOR_TOKENS + pieceTokens > budget) await emit();
      size += (parts.length > 0 ? SEPARATOR_TOKENS : 0) + pieceTokens;
      parts.push({ text: piece, page: block.page });
    }
  }
  await emit();
  return chunks;
}
