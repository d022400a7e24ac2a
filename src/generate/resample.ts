/**
 * Decoding for asking again after a reply that failed validation (not valid JSON, wrong shape):
 * the judge's verdicts and qa-from-docs' pairs.
 *
 * Attempt 0 decodes as the user asked. A retry with the same greedy settings would get the same
 * reply from any deterministic backend (the engine, a vLLM server at temperature 0), so a retry
 * samples — at the user's temperature, or at least RESAMPLE_TEMPERATURE — with seed + attempt,
 * which keeps the run reproducible.
 */
import type { DecodingSettings } from "./types.ts";

export const RESAMPLE_TEMPERATURE = 0.7;

export function resampleDecoding(decoding: DecodingSettings, attempt: number): DecodingSettings {
  if (attempt === 0) return decoding;
  return { ...decoding, seed: decoding.seed + attempt, temperature: Math.max(decoding.temperature, RESAMPLE_TEMPERATURE) };
}
