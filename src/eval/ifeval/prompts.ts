/**
 * IFEval prompt files: the reference JSONL (`input_data.jsonl`: only the kwargs that are set)
 * and the Hugging Face format (`google/IFEval`: every kwarg present, the unused ones `null`).
 *
 * Every instruction is built while reading, so a bad argument is reported with its file, line
 * and field before any response is scored.
 */
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { readJsonl } from "../../data/jsonl.ts";
import { InputError } from "../../util/errors.ts";
import { INSTRUCTIONS } from "./instructions/registry.ts";
import type { Check } from "./instructions/types.ts";
import { PythonRegexError } from "./python-regex.ts";

/** The 541 English prompts shipped with kielo (google-research `input_data.jsonl`). */
export const DEFAULT_PROMPTS_FILE = fileURLToPath(new URL("../../../resources/ifeval/input_data.jsonl", import.meta.url));

export type PromptKey = number | string;

export interface IfevalPrompt {
  key: PromptKey;
  prompt: string;
  instructionIds: string[];
  /** The kwargs as the checkers received them (nulls dropped). */
  kwargs: Record<string, unknown>[];
  /** One built check per instruction, in order. */
  checks: Check[];
  /** Where it came from, for messages. */
  file: string;
  line: number;
}

const PromptLine = z.object({
  key: z.union([z.number().int(), z.string().min(1)]),
  prompt: z.string(),
  instruction_id_list: z.array(z.string()).min(1),
  kwargs: z.array(z.record(z.string(), z.unknown())),
});

/**
 * M-IFEval's English file prefixes every id with `en:`; the checks are the reference's, so the
 * prefix is dropped. Other M-IFEval prefixes (`fr:`, `es:`, `ja:`) name checkers that are not
 * the reference's and stay unknown.
 */
const ENGLISH_PREFIX = "en:";

function describeZodIssue(issue: z.core.$ZodIssue): { field: string; message: string } {
  return { field: issue.path.map(String).join("."), message: issue.message };
}

/** Drop `null` kwargs (the HF format stores every key). Falsy values such as 0 stay. */
function dropNulls(kwargs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(kwargs).filter(([, v]) => v !== null && v !== undefined));
}

export function parsePromptLine(value: unknown, file: string, line: number): IfevalPrompt {
  const parsed = PromptLine.safeParse(value);
  if (!parsed.success) {
    const issue = describeZodIssue(parsed.error.issues[0]!);
    throw new InputError({ file, line, field: issue.field || undefined }, `${issue.message} (expected an IFEval prompt: key, prompt, instruction_id_list, kwargs)`);
  }
  const row = parsed.data;
  if (row.kwargs.length !== row.instruction_id_list.length) {
    throw new InputError(
      { file, line, field: "kwargs" },
      `has ${row.kwargs.length} entries but instruction_id_list has ${row.instruction_id_list.length}; expected one kwargs object per instruction`,
    );
  }
  const instructionIds: string[] = [];
  const kwargs: Record<string, unknown>[] = [];
  const checks: Check[] = [];
  row.instruction_id_list.forEach((rawId, index) => {
    const id = rawId.startsWith(ENGLISH_PREFIX) ? rawId.slice(ENGLISH_PREFIX.length) : rawId;
    const definition = INSTRUCTIONS.get(id);
    if (definition === undefined) {
      throw new InputError({ file, line, field: `instruction_id_list[${index}]` }, `unknown instruction id ${JSON.stringify(rawId)}`, {
        hint: `IFEval's ids are: ${[...INSTRUCTIONS.keys()].join(", ")}`,
      });
    }
    const args = dropNulls(row.kwargs[index]!);
    const checked = definition.args.safeParse(args);
    if (!checked.success) {
      const issue = describeZodIssue(checked.error.issues[0]!);
      const field = `kwargs[${index}]${issue.field ? `.${issue.field}` : ""}`;
      throw new InputError({ file, line, field }, `invalid argument for ${id}: ${issue.message}`);
    }
    let check: Check;
    try {
      check = definition.build(checked.data);
    } catch (error) {
      // A keyword, spliter or marker that is not a usable Python regex.
      if (error instanceof PythonRegexError) throw new InputError({ file, line, field: `kwargs[${index}]` }, `invalid argument for ${id}: ${error.message}`);
      throw error;
    }
    instructionIds.push(id);
    kwargs.push(args);
    checks.push(check);
  });
  return { key: row.key, prompt: row.prompt, instructionIds, kwargs, checks, file, line };
}

/** Read and build every prompt of a file; keys must be unique (they name results). */
export async function readPrompts(file: string = DEFAULT_PROMPTS_FILE): Promise<IfevalPrompt[]> {
  const prompts: IfevalPrompt[] = [];
  const seen = new Map<string, number>();
  for await (const { line, value } of readJsonl(file)) {
    const prompt = parsePromptLine(value, file, line);
    const earlier = seen.get(String(prompt.key));
    if (earlier !== undefined) {
      throw new InputError({ file, line, field: "key" }, `key ${prompt.key} already used on line ${earlier}; expected unique keys`);
    }
    seen.set(String(prompt.key), line);
    prompts.push(prompt);
  }
  if (prompts.length === 0) throw new InputError({ file }, "no prompts found; expected JSONL with one IFEval prompt per line");
  return prompts;
}
