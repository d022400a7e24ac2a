/**
 * Chat templates rendered with `@huggingface/jinja` exactly as transformers' `apply_chat_template`
 * renders them (transformers/utils/chat_template_utils.py `render_jinja_template`): the template sees
 * `messages`, `add_generation_prompt`, `tools` and `documents` (None), every named special token that
 * the tokenizer config sets (`bos_token`, `eos_token`, `unk_token`, `sep_token`, `pad_token`,
 * `cls_token`, `mask_token`), and the globals `raise_exception` and `strftime_now`. Whitespace control
 * is trim_blocks + lstrip_blocks in both. The rendered text is then tokenised WITHOUT adding special
 * tokens (transformers calls the tokenizer with `add_special_tokens=False`): the template alone decides
 * where BOS/EOS go.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Template } from "@huggingface/jinja";
import type { Message } from "../data/records.ts";
import type { LoadedTokenizer } from "../tokenize/tokenizer-folder.ts";
import { specialTokenStrings } from "../tokenize/special-tokens.ts";
import { KieloError } from "../util/errors.ts";
import { BUILTIN_TEMPLATE_NAMES, BUILTIN_TEMPLATES } from "./builtin-templates.ts";

export interface RenderOptions {
  /** Append the header that opens an assistant turn (for generation, and for prompts of pairs). */
  addGenerationPrompt?: boolean;
}

export interface ChatTemplate {
  /** `model`, `model:<name>`, a built-in name (`llama-2`, `chatml`, `qa-context`) or `file:<path>`. */
  readonly name: string;
  readonly source: string;
  /** sha256 (hex) of the template source. */
  readonly sha256: string;
  /** Render a conversation. Throws ChatTemplateError when the template fails (e.g. raise_exception). */
  render(messages: readonly Message[], options?: RenderOptions): string;
}

/** A template that failed to render a conversation; `jinjaMessage` is the template engine's message. */
export class ChatTemplateError extends KieloError {
  readonly templateName: string;
  readonly jinjaMessage: string;

  constructor(templateName: string, jinjaMessage: string) {
    super(`chat template ${templateName} failed to render: ${jinjaMessage}`);
    this.name = "ChatTemplateError";
    this.templateName = templateName;
    this.jinjaMessage = jinjaMessage;
  }
}

export const TEMPLATE_SPEC_HELP =
  `model (the tokenizer's own chat_template), model:<name> (a named one), ${BUILTIN_TEMPLATE_NAMES.join(", ")}, or file:<path.jinja>`;

/**
 * Resolve a template spec. `undefined` means the model's own template, which must then exist.
 */
export function loadChatTemplate(spec: string | undefined, tokenizer: LoadedTokenizer): ChatTemplate {
  const name = spec ?? "model";
  let source: string;
  if (name === "model") {
    if (tokenizer.chatTemplate === undefined) {
      const named = Object.keys(tokenizer.chatTemplates);
      const where =
        tokenizer.chatTemplateSource ??
        "chat_template.jinja, additional_chat_templates/, tokenizer_config.json (chat_template) or chat_template.json";
      throw new KieloError(`the tokenizer in ${tokenizer.dir} has no default chat template (looked in ${where})`, {
        hint:
          named.length > 0
            ? `It has named templates (${named.join(", ")}): pass --template model:<name>.`
            : `Pass --template with one of: ${BUILTIN_TEMPLATE_NAMES.join(", ")}, or file:<path.jinja>.`,
      });
    }
    source = tokenizer.chatTemplate;
  } else if (name.startsWith("model:")) {
    const key = name.slice("model:".length);
    const found = tokenizer.chatTemplates[key];
    if (found === undefined) {
      throw new KieloError(`the tokenizer in ${tokenizer.dir} has no chat template named "${key}"`, {
        hint: `It has: ${Object.keys(tokenizer.chatTemplates).join(", ") || "none"}.`,
      });
    }
    source = found;
  } else if (name.startsWith("file:")) {
    const path = resolve(name.slice("file:".length));
    try {
      source = readFileSync(path, "utf8");
    } catch (error) {
      throw new KieloError(`cannot read chat template ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else if (Object.hasOwn(BUILTIN_TEMPLATES, name)) {
    source = BUILTIN_TEMPLATES[name]!;
  } else {
    throw new KieloError(`unknown chat template "${name}"`, { hint: `Use ${TEMPLATE_SPEC_HELP}.` });
  }
  return compileTemplate(name, source, specialTokenStrings(tokenizer.special));
}

/** Parse a template once; `render` reuses the parsed program. */
export function compileTemplate(name: string, source: string, specialTokens: Record<string, string>): ChatTemplate {
  let parsed: Template;
  try {
    parsed = new Template(source);
  } catch (error) {
    throw new KieloError(`chat template ${name} does not parse: ${(error as Error).message}`);
  }
  const sha256 = createHash("sha256").update(source).digest("hex");
  return {
    name,
    source,
    sha256,
    render(messages, options = {}) {
      try {
        return parsed.render({
          // transformers passes these two as None when no tools/documents are given.
          tools: null,
          documents: null,
          ...specialTokens,
          // Plain copies: the template must not see (or mutate) anything but role and content.
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: options.addGenerationPrompt ?? false,
        });
      } catch (error) {
        throw new ChatTemplateError(name, (error as Error).message);
      }
    },
  };
}
