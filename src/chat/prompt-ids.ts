/**
 * Token ids of generation prompts, for the modules that ask a model to continue a conversation
 * (generation, translation, evaluation): render with the generation prompt, then tokenise WITHOUT
 * adding special tokens — the template already wrote BOS where the model wants one; adding it again
 * (a common mistake) gives the model a doubled BOS it never saw in training.
 */
import type { Message } from "../data/records.ts";
import type { LoadedTokenizer } from "../tokenize/tokenizer-folder.ts";
import type { ChatTemplate } from "./chat-template.ts";

export async function promptIds(template: ChatTemplate, tokenizer: LoadedTokenizer, messages: readonly Message[]): Promise<number[]> {
  const text = template.render(messages, { addGenerationPrompt: true });
  return (await tokenizer.tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
}

/** The same for many conversations at once (one `encodeBatch`, tokenised off the JS thread). */
export async function promptIdsBatch(
  template: ChatTemplate,
  tokenizer: LoadedTokenizer,
  conversations: readonly (readonly Message[])[],
): Promise<number[][]> {
  const texts = conversations.map((messages) => template.render(messages, { addGenerationPrompt: true }));
  const encodings = await tokenizer.tokenizer.encodeBatch(texts, { addSpecialTokens: false });
  return encodings.map((e) => e.getIds());
}
