/** Parsing command-line option values, with errors that name the flag and what it expects. */
import { KieloError } from "../util/errors.ts";

export function number(value: string, flag: string, options: { integer?: boolean; min?: number; max?: number } = {}): number {
  const parsed = Number(value);
  const bad =
    value.trim() === "" ||
    !Number.isFinite(parsed) ||
    (options.integer === true && !Number.isInteger(parsed)) ||
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
