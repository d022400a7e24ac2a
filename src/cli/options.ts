/**
 * Parsing command-line option values, with errors that name the flag and what it expects. Every
 * number on kielo's command line goes through `number` (directly, or as a commander argument parser
 * made by `numberArg`), so that ranges and messages are alike everywhere.
 */
import { KieloError } from "../util/errors.ts";

export interface NumberRules {
  integer?: boolean;
  min?: number;
  max?: number;
}

export function number(value: string, flag: string, options: NumberRules = {}): number {
  const parsed = Number(value);
  const bad =
    value.trim() === "" ||
    !Number.isFinite(parsed) ||
    (options.integer === true && !Number.isSafeInteger(parsed)) ||
    (options.min !== undefined && parsed < options.min) ||
    (options.max !== undefined && parsed > options.max);
  if (bad) {
    const range = [options.min !== undefined ? `≥ ${options.min}` : "", options.max !== undefined ? `≤ ${options.max}` : ""]
      .filter(Boolean)
      .join(" and ");
    throw new KieloError(`${flag} must be ${options.integer ? "an integer" : "a number"}${range ? ` ${range}` : ""}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** A commander argument parser for a numeric option: `.option("--pack <n>", "…", numberArg("--pack", { integer: true, min: 2 }))`. */
export function numberArg(flag: string, rules: NumberRules = {}): (value: string) => number {
  return (value) => number(value, flag, rules);
}

/** A comma-separated list of numbers: `--fractions 0,0.1,0.2`. */
export function numberListArg(flag: string, rules: NumberRules = {}): (value: string) => number[] {
  return (value) => value.split(",").map((part) => number(part.trim(), flag, rules));
}

/** A repeatable option collecting its values: `--set a=1 --set b=2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
