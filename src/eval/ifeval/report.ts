/** The printed IFEval report: the four accuracies, the target-language part, and the breakdowns. */
import type { IfevalResult } from "./evaluate.ts";
import type { Breakdown } from "./metrics.ts";

function pct(n: number, d: number): string {
  return d === 0 ? "   n/a" : `${((100 * n) / d).toFixed(2).padStart(6)}%`;
}

/** `83.57% (697/834)`: the percentage with the counts it comes from. */
function cell(n: number, d: number): string {
  return `${pct(n, d)} (${n}/${d})`;
}

function table(title: string, rows: Record<string, Breakdown>, loose: boolean): string[] {
  const names = Object.keys(rows);
  const width = Math.max(title.length, ...names.map((n) => n.length));
  const header = `${title.padEnd(width)}  ${"strict".padEnd(20)}${loose ? "loose" : ""}`;
  const lines = [header.trimEnd()];
  for (const name of names) {
    const b = rows[name]!;
    const strict = cell(b.strict_followed, b.instructions);
    lines.push(`${name.padEnd(width)}  ${loose ? strict.padEnd(20) + cell(b.loose_followed, b.instructions) : strict}`);
  }
  return lines;
}

export interface ReportOptions {
  label?: string;
  /** Show loose accuracy in the breakdown tables too (strict is the paper's metric). */
  loose?: boolean;
}

export function formatReport(result: IfevalResult, options: ReportOptions = {}): string {
  const lines: string[] = [];
  const c = result.counts;
  lines.push(
    `IFEval${options.label ? ` [${options.label}]` : ""}: ${result.prompts} prompts, ${result.instructions} instructions` +
      ` (prompts ${result.prompts_file}, responses ${result.responses_file})`,
  );
  const target = result.target_language;
  if (target !== undefined) {
    const which = target.exclusion === "all" ? "asking for any response language" : `asking for a language other than en or ${target.lang}`;
    const keys = target.excluded.map((e) => `${e.key}:${e.language}`).join(", ");
    lines.push(
      `target language ${target.lang}: excluded ${target.excluded.length} of ${target.prompts_before} prompts ${which}` +
        ` → ${target.prompts_after} scored${keys ? ` (${keys})` : ""}`,
    );
  }
  if (result.unused_responses > 0) lines.push(`${result.unused_responses} response line(s) answer no scored prompt and were ignored`);
  lines.push("");
  lines.push(`${"".padEnd(18)}${"strict".padEnd(22)}loose`);
  lines.push(`${"prompt-level".padEnd(18)}${cell(c.prompt_level_strict, result.prompts).padEnd(22)}${cell(c.prompt_level_loose, result.prompts)}`);
  lines.push(
    `${"instruction-level".padEnd(18)}${cell(c.instruction_level_strict, result.instructions).padEnd(22)}${cell(c.instruction_level_loose, result.instructions)}`,
  );
  if (target !== undefined) {
    const rl = target.response_language;
    const other = rl.primary === "langdetect" ? "eld" : "langdetect";
    lines.push("");
    lines.push(
      `response language ${rl.target}: ${cell(rl.rates[rl.primary].matches, rl.rates[rl.primary].total)} by ${rl.primary}` +
        `; ${cell(rl.rates[other].matches, rl.rates[other].total)} by ${other}; the two disagree on ${rl.disagreements} response(s)`,
    );
  }
  lines.push("");
  lines.push(...table("category", result.per_category, options.loose ?? false));
  lines.push("");
  lines.push(...table("instruction", result.per_instruction, options.loose ?? false));
  return `${lines.join("\n")}\n`;
}
