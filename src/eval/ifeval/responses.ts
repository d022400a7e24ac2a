/**
 * Responses to IFEval prompts, and joining them to the prompts.
 *
 * The file is the reference's `input_response_data` JSONL: `{"prompt": …, "response": …}` per
 * line, optionally with `key`. A line with a `key` is joined by key; a line without one by the
 * exact prompt text. A key or prompt text answered twice is an error naming both lines: the
 * reference's `read_prompt_to_response_dict` silently keeps the last, which hides a file that was
 * appended to twice or merged badly.
 */
import { z } from "zod";
import { readJsonl } from "../../data/jsonl.ts";
import { InputError, KieloError } from "../../util/errors.ts";
import type { IfevalPrompt } from "./prompts.ts";

export interface ResponseLine {
  key?: number | string;
  prompt?: string;
  response: string;
  line: number;
}

const ResponseSchema = z
  .object({
    key: z.union([z.number().int(), z.string().min(1)]).optional(),
    prompt: z.string().optional(),
    response: z.string(),
  })
  .refine((r) => r.key !== undefined || r.prompt !== undefined, { message: "needs a prompt or a key to be joined", path: ["prompt"] });

export async function readResponses(file: string): Promise<ResponseLine[]> {
  const out: ResponseLine[] = [];
  for await (const { line, value } of readJsonl(file)) {
    const parsed = ResponseSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(
        { file, line, field: issue.path.map(String).join(".") || undefined },
        `${issue.message} (expected {"prompt": string, "response": string} with an optional "key")`,
      );
    }
    out.push({ ...parsed.data, line });
  }
  return out;
}

export interface JoinedPrompt {
  prompt: IfevalPrompt;
  response: string;
}

export interface JoinResult {
  joined: JoinedPrompt[];
  /** Response lines that answer none of the prompts (e.g. prompts excluded by `--lang`). */
  unused: number;
}

/** Pair every prompt with its response; a prompt without one is an error that lists the keys. */
export function joinResponses(prompts: readonly IfevalPrompt[], responses: readonly ResponseLine[], responsesFile: string): JoinResult {
  const byKey = new Map<string, ResponseLine>();
  const byText = new Map<string, ResponseLine>();
  for (const r of responses) {
    const [map, id, field] = r.key !== undefined ? [byKey, String(r.key), "key"] : [byText, r.prompt!, "prompt"];
    const earlier = map.get(id);
    if (earlier !== undefined) {
      throw new InputError(
        { file: responsesFile, line: r.line, field },
        `a second response to ${field === "key" ? `key ${JSON.stringify(r.key)}` : `the prompt ${JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id)}`} (the first is on line ${earlier.line})`,
        { hint: "Keep one response per prompt: remove the repeated line (was the file appended to twice?)." },
      );
    }
    map.set(id, r);
  }
  const joined: JoinedPrompt[] = [];
  const missing: string[] = [];
  for (const prompt of prompts) {
    const r = byKey.get(String(prompt.key)) ?? byText.get(prompt.prompt);
    if (r === undefined) {
      missing.push(String(prompt.key));
      continue;
    }
    joined.push({ prompt, response: r.response });
  }
  if (missing.length > 0) {
    const shown = missing.length > 40 ? `${missing.slice(0, 40).join(", ")} … (${missing.length - 40} more)` : missing.join(", ");
    throw new KieloError(`${responsesFile}: no response for ${missing.length} of ${prompts.length} prompts; keys: ${shown}`, {
      hint: "Responses are joined by `key` when a line has one, else by the exact prompt text.",
    });
  }
  const keys = new Set(prompts.map((p) => String(p.key)));
  const texts = new Set(prompts.map((p) => p.prompt));
  const unused = responses.filter((r) => (r.key !== undefined ? !keys.has(String(r.key)) : !texts.has(r.prompt!))).length;
  return { joined, unused };
}
