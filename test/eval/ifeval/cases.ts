/** The adversarial edge cases of `test/fixtures/ifeval/adversarial-cases.jsonl`. */
import { readFileSync } from "node:fs";
import { parsePromptLine, type IfevalPrompt } from "../../../src/eval/ifeval/prompts.ts";
import { FIXTURES } from "./helpers.ts";

export const ADVERSARIAL_FILE = `${FIXTURES}adversarial-cases.jsonl`;

export interface AdversarialCase {
  name: string;
  instruction_id_list: string[];
  kwargs: Record<string, unknown>[];
  prompt: string;
  response: string;
  /** Hand-checked verdicts, where the case states them. */
  strict?: boolean[];
  loose?: boolean[];
}

export function readAdversarialCases(): { spec: AdversarialCase; prompt: IfevalPrompt }[] {
  return readFileSync(ADVERSARIAL_FILE, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      const spec = JSON.parse(l) as AdversarialCase;
      const prompt = parsePromptLine({ key: i + 1, ...spec }, ADVERSARIAL_FILE, i + 1);
      return { spec, prompt };
    });
}
