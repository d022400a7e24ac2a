/**
 * Length-ratio bounds learned from the data itself, per language pair.
 *
 * For every (source, target) text pair with a long enough source, x = ln(len_target / len_source)
 * (characters). The bounds are median ± k · 1.4826 · MAD: a robust estimate (median and MAD are
 * not pulled by the very outliers we want to find, unlike mean and standard deviation). The
 * half-width has a floor (a near-zero MAD would flag harmless variation), and with fewer than
 * `min_samples` pairs the configured fallback bounds are used instead.
 */
import type { CleanConfig } from "./config.ts";

export interface RatioBounds {
  /** The language pair, with the band of source lengths it was learned from: "en-fi", "en-fi short", "en-fi tiny". */
  pair: string;
  samples: number;
  median: number;
  /** Scaled MAD (≈ σ for normal data). */
  sigma: number;
  low: number;
  high: number;
  source: "learned" | "fallback";
}

/**
 * Length in characters, Han characters counted twice: a kanji or hanzi carries about what two kana
 * or letters do, and the share of kanji in Japanese varies from text to text. On real English →
 * Japanese gettext translations this narrows the spread of the log ratio (σ 0.24 → 0.21 on the
 * bench's catalogs, 0.33 → 0.21 on the held-out apt/coreutils/grep/sed/tar/wget ones); texts
 * without Han characters are measured as before.
 */
export function textLength(text: string): number {
  return text.length + 2 * (text.match(/\p{Script=Han}/gu)?.length ?? 0);
}

export function logRatio(source: string, target: string): number {
  return Math.log(Math.max(1, textLength(target)) / Math.max(1, textLength(source)));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function learnBounds(pair: string, ratios: readonly number[], config: CleanConfig["length_ratio"]): RatioBounds {
  if (ratios.length < config.min_samples) {
    const [low, high] = config.fallback;
    return { pair, samples: ratios.length, median: (low + high) / 2, sigma: (high - low) / (2 * config.k), low, high, source: "fallback" };
  }
  const m = median(ratios);
  const sigma = 1.4826 * median(ratios.map((x) => Math.abs(x - m)));
  const half = Math.max(config.min_half_width, config.k * sigma);
  return { pair, samples: ratios.length, median: m, sigma, low: m - half, high: m + half, source: "learned" };
}

/**
 * The bands of source length whose ratios a pair's bounds are learned from: every source of at
 * least length_ratio.min_source_chars characters ("en-fi"), those under short_chars also on their
 * own ("en-fi short"), and those from truncation.min_source_chars up to min_source_chars
 * ("en-fi tiny"), which the length-ratio rule does not judge but the truncated rule does. A word
 * more or less is a large share of a short text, and how much larger its ratio varies differs by
 * language (Finnish UI strings of 30–50 characters vary more than Japanese ones): each band learns
 * its own spread from the file.
 */
export function boundsKeys(pair: string, sourceLength: number, config: CleanConfig): string[] {
  if (sourceLength < config.truncation.min_source_chars) return [];
  if (sourceLength < config.length_ratio.min_source_chars) return [`${pair} tiny`];
  return sourceLength < config.length_ratio.short_chars ? [pair, `${pair} short`] : [pair];
}

/** Whether bounds were learned from the tiny band (sources under length_ratio.min_source_chars) itself. */
export function isTinyBand(bounds: RatioBounds): boolean {
  return bounds.pair.endsWith(" tiny");
}

/** The bounds a source of this length is judged by: its own band's where learned, else the next longer band's. */
export function boundsFor(bounds: ReadonlyMap<string, RatioBounds>, pair: string, sourceLength: number, config: CleanConfig): RatioBounds | undefined {
  const learned = (key: string) => (bounds.get(key)?.source === "learned" ? bounds.get(key) : undefined);
  if (sourceLength < config.length_ratio.min_source_chars) {
    const tiny = learned(`${pair} tiny`);
    if (tiny !== undefined) return tiny;
  }
  return (sourceLength < config.length_ratio.short_chars ? learned(`${pair} short`) : undefined) ?? bounds.get(pair);
}

/** Bounds for every band of every pair, from (pair, source, target) texts. */
export function learnAllBounds(texts: Iterable<{ pair: string; source: string; target: string }>, config: CleanConfig): Map<string, RatioBounds> {
  const ratios = new Map<string, number[]>();
  for (const { pair, source, target } of texts) {
    for (const key of boundsKeys(pair, source.length, config)) {
      const list = ratios.get(key) ?? [];
      list.push(logRatio(source, target));
      ratios.set(key, list);
    }
  }
  return new Map([...ratios].map(([key, values]) => [key, learnBounds(key, values, config.length_ratio)]));
}
