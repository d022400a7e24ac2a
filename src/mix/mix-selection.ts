/**
 * Which added rows a mix takes.
 *
 * For a fraction f of n added rows the mix takes k = round(f × n) rows (Math.round: halves round up;
 * rounding rather than flooring keeps 0.29 × 100 from becoming 28 through floating-point error).
 * They are the first k entries of one seeded permutation of 0 … n-1, so for the same seed and added
 * file the rows of a smaller fraction are always among the rows of a larger one (nested mixes).
 */
import { KieloError } from "../util/errors.ts";
import { seededPermutation } from "../util/random.ts";

export function checkFraction(fraction: number, flag = "--fraction"): number {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
    const hint = Number.isFinite(fraction) && fraction > 1 && fraction <= 100 ? `For ${fraction} %, pass ${fraction / 100}.` : undefined;
    throw new KieloError(`${flag} must be a number between 0 and 1 (the share of the added rows to take), got ${fraction}`, hint ? { hint } : {});
  }
  return fraction;
}

export function mixCount(fraction: number, rows: number): number {
  return Math.round(checkFraction(fraction) * rows);
}

/** The permutation that all fractions of one (added file, seed) share. */
export function mixOrder(rows: number, seed: number): number[] {
  return seededPermutation(rows, seed);
}

/** The chosen row indices (0-based) for `fraction`, in ascending (file) order. */
export function chooseRows(order: readonly number[], fraction: number): number[] {
  return order.slice(0, mixCount(fraction, order.length)).sort((a, b) => a - b);
}

/** `0.1` → `10`, `0.125` → `12.5`: the percentage used in mix names (`en-fi-10pct`). */
export function percentLabel(fraction: number): string {
  return String(Number((fraction * 100).toFixed(6)));
}
