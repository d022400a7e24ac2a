/**
 * Few-shot translation prompts, loaded from editable YAML files (`resources/translate/<from>-<to>.yaml`
 * or `--prompt-file`). One file holds the completion-style template (base models), the chat-style
 * messages (chat models) and the examples. Its sha256 is the prompt version, part of the cache key.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Message } from "../data/records.ts";
import type { ScaffoldingMarker } from "../text/scaffolding.ts";
import { KieloError } from "../util/errors.ts";

const ExampleSchema = z.object({ source: z.string().min(1), target: z.string().min(1), origin: z.string().optional() });

const PromptFileSchema = z.object({
  pair: z.string().optional(),
  source_name: z.string().min(1),
  target_name: z.string().min(1),
  instruction: z.string().default(""),
  completion: z.object({ template: z.string().min(1), stop: z.array(z.string()).default([]) }),
  chat: z.object({ system: z.string().default(""), user: z.string().default("{{ source }}") }),
  examples: z.array(ExampleSchema).default([]),
});
export type PromptFile = z.infer<typeof PromptFileSchema>;

export interface TranslationPrompt {
  path: string;
  /** sha256 (hex, first 16 characters) of the file. */
  version: string;
  file: PromptFile;
  /** Stop strings for completion-style generation. */
  stop: string[];
  completion(source: string): string;
  chat(source: string): Message[];
  /** Parts of the prompt that must not appear in an output (leaked scaffolding). */
  scaffolding: ScaffoldingMarker[];
}

const RESOURCES = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "resources", "translate");

export function builtinPromptPath(from: string, to: string): string {
  return join(RESOURCES, `${from}-${to}.yaml`);
}

export function loadPrompt(from: string, to: string, promptFile?: string): TranslationPrompt {
  const path = promptFile ? resolve(promptFile) : builtinPromptPath(from, to);
  if (!existsSync(path)) {
    throw new KieloError(
      promptFile ? `prompt file ${path} not found` : `no built-in translation prompt for ${from}→${to} (${path})`,
      { hint: `write one like resources/translate/en-fi.yaml and pass it with --prompt-file` },
    );
  }
  const raw = readFileSync(path, "utf8");
  let parsed: unknown;
  try {
    parsed = parseYaml(raw);
  } catch (error) {
    throw new KieloError(`${path}: not valid YAML: ${(error as Error).message}`);
  }
  const result = PromptFileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new KieloError(`${path} (field ${issue.path.join(".") || "(top)"}): ${issue.message}`);
  }
  const file = result.data;
  const compile = (field: string, source: string) => {
    try {
      return new Template(source);
    } catch (error) {
      throw new KieloError(`${path} (field ${field}): bad template: ${(error as Error).message}`);
    }
  };
  const completion = compile("completion.template", file.completion.template);
  const system = compile("chat.system", file.chat.system);
  const user = compile("chat.user", file.chat.user);
  const common = {
    instruction: file.instruction,
    source_name: file.source_name,
    target_name: file.target_name,
    examples: file.examples,
  };
  return {
    path,
    version: createHash("sha256").update(raw).digest("hex").slice(0, 16),
    file,
    stop: file.completion.stop,
    completion: (source) => completion.render({ ...common, source }),
    chat: (source) => {
      const messages: Message[] = [];
      const systemText = system.render(common);
      if (systemText.trim() !== "") messages.push({ role: "system", content: systemText });
      for (const example of file.examples) {
        messages.push({ role: "user", content: user.render({ ...common, source: example.source }) });
        messages.push({ role: "assistant", content: example.target });
      }
      messages.push({ role: "user", content: user.render({ ...common, source }) });
      return messages;
    },
    scaffolding: scaffoldingMarkers(file),
  };
}

/** The scaffolding markers of the built-in prompt for a pair; none when kielo has no such prompt. */
export function builtinScaffolding(from: string, to: string): ScaffoldingMarker[] {
  return existsSync(builtinPromptPath(from, to)) ? loadPrompt(from, to).scaffolding : [];
}

/** Strings of a prompt that signal leaked scaffolding when they show up in an output. */
function scaffoldingMarkers(file: PromptFile): ScaffoldingMarker[] {
  const markers = new Map<string, ScaffoldingMarker>();
  const add = (marker: ScaffoldingMarker) => {
    if (marker.text.trim() !== "" && !markers.has(marker.text)) markers.set(marker.text, marker);
  };
  for (const stop of file.completion.stop) add({ text: stop });
  for (const match of file.completion.template.matchAll(/<\/?[\w-]{1,12}>/g)) add({ text: match[0] });
  for (const example of file.examples) add({ text: example.target, exampleSource: example.source });
  if (file.instruction.trim() !== "") add({ text: file.instruction.trim().split(/(?<=\.)\s/)[0]! });
  return [...markers.values()];
}
