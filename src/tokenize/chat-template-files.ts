/**
 * Where a model folder keeps its chat templates, read in the order transformers 5 reads them.
 *
 * transformers 4.x wrote the template into `tokenizer_config.json`; transformers 5 writes it to its
 * own file (`tokenizer.save_pretrained` → `chat_template.jinja`, extra named templates in
 * `additional_chat_templates/<name>.jinja`). `AutoTokenizer.from_pretrained` (5.17,
 * tokenization_utils_base.py `_from_pretrained`) starts from `tokenizer_config.json`'s
 * `chat_template` (a string, or the older list of `{name, template}`) and, when any of those
 * template files exists, REPLACES it with them: `chat_template.jinja` is the default template and
 * each `additional_chat_templates/*.jinja` a named one (so a folder with only named files has no
 * default, whatever the config says).
 *
 * `chat_template.json` (`{"chat_template": "…"}`) is the processors' legacy file (processing_utils.py
 * reads it; the tokenizer does not). A text model's folder rarely has one, but some conversions
 * leave only that: it is read last, when neither the template files nor the config give a template.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KieloError } from "../util/errors.ts";

export const CHAT_TEMPLATE_FILE = "chat_template.jinja";
export const CHAT_TEMPLATE_DIR = "additional_chat_templates";
export const LEGACY_CHAT_TEMPLATE_FILE = "chat_template.json";

export interface ChatTemplates {
  /** Every template by name; the default one (string form, `chat_template.jinja`) is `default`. */
  templates: Record<string, string>;
  /** Where they were read from (a file name or `tokenizer_config.json`), for messages; undefined when none. */
  source: string | undefined;
}

export function readChatTemplates(dir: string, config: Record<string, unknown>, configPath: string): ChatTemplates {
  const fromFiles = readTemplateFiles(dir);
  if (fromFiles !== undefined) return fromFiles;
  const fromConfig = templatesFromConfig(config, configPath);
  if (Object.keys(fromConfig).length > 0) return { templates: fromConfig, source: "tokenizer_config.json" };
  const legacy = join(dir, LEGACY_CHAT_TEMPLATE_FILE);
  if (existsSync(legacy)) {
    const parsed = readJson(legacy);
    const template = parsed["chat_template"];
    if (typeof template !== "string") throw new KieloError(`${legacy}: expected {"chat_template": "<jinja source>"}`);
    return { templates: { default: template }, source: LEGACY_CHAT_TEMPLATE_FILE };
  }
  return { templates: {}, source: undefined };
}

/** `chat_template.jinja` and `additional_chat_templates/*.jinja`, or undefined when there are none. */
function readTemplateFiles(dir: string): ChatTemplates | undefined {
  const templates: Record<string, string> = {};
  const sources: string[] = [];
  const main = join(dir, CHAT_TEMPLATE_FILE);
  if (existsSync(main)) {
    templates["default"] = readFileSync(main, "utf8");
    sources.push(CHAT_TEMPLATE_FILE);
  }
  const extraDir = join(dir, CHAT_TEMPLATE_DIR);
  if (existsSync(extraDir)) {
    for (const name of readdirSync(extraDir).sort()) {
      if (!name.endsWith(".jinja")) continue;
      templates[name.slice(0, -".jinja".length)] = readFileSync(join(extraDir, name), "utf8");
      sources.push(`${CHAT_TEMPLATE_DIR}/${name}`);
    }
  }
  return sources.length === 0 ? undefined : { templates, source: sources.join(", ") };
}

/** `chat_template` is a string, or (older multi-template configs) a list of `{name, template}`. */
function templatesFromConfig(config: Record<string, unknown>, configPath: string): Record<string, string> {
  const raw = config["chat_template"];
  if (raw === undefined || raw === null) return {};
  if (typeof raw === "string") return { default: raw };
  if (Array.isArray(raw)) {
    const out: Record<string, string> = {};
    raw.forEach((entry: unknown, i) => {
      const e = entry as { name?: unknown; template?: unknown } | null;
      if (typeof e?.name !== "string" || typeof e.template !== "string") {
        throw new KieloError(`${configPath}: chat_template[${i}] must be {"name": string, "template": string}`);
      }
      out[e.name] = e.template;
    });
    return out;
  }
  throw new KieloError(`${configPath}: chat_template must be a string or a list of {name, template}`);
}

function readJson(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new KieloError(`${path}: malformed JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new KieloError(`${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}
