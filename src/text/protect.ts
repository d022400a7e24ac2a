/**
 * Protection of spans that a translator must not touch: inline code, URLs, e-mail addresses,
 * numbers with units and `[placeholders]` (also `{{placeholders}}`). Each span is replaced by a
 * numbered sentinel `⟦n⟧` before the text is sent, and put back exactly afterwards.
 *
 * Sentinels are numbered from 1 within each segment, so the same source segment always protects
 * to the same text (and hits the same cache entry). Restoring reports sentinels that came back
 * missing, twice, or that the model invented, so that `clean` can drop the row.
 *
 * Fenced code blocks are not handled here: `translate/segment.ts` keeps them out of what is sent at all.
 */

export interface Protected {
  /** The text with sentinels in place of protected spans. */
  text: string;
  /** `values[n-1]` is the original text of sentinel n. */
  values: string[];
  /** `kinds[n-1]` is what sentinel n protects (`url`, `inline-code` … or `extra` for caller-given strings). */
  kinds: string[];
}

export interface SentinelProblem {
  kind: "sentinel-lost" | "sentinel-duplicated" | "sentinel-unknown";
  sentinel: string;
  value?: string;
}

export interface Restored {
  text: string;
  problems: SentinelProblem[];
}

/** Kinds of protected spans, in the order they are matched (earlier wins on overlap). */
const PATTERNS: readonly { kind: string; pattern: RegExp }[] = [
  // Inline code: one or more backticks, content on one line, the same number of backticks.
  { kind: "inline-code", pattern: /(`+)[^`\n]+?\1/g },
  { kind: "url", pattern: /\b(?:https?:\/\/|ftp:\/\/|www\.)[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/g },
  { kind: "email", pattern: /\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b/g },
  { kind: "placeholder", pattern: /\{\{[^{}\n]{1,60}\}\}|\[[^[\]\n]{1,60}\](?!\()/g },
  // Numbers with units. Only units that cannot be ordinary words after a number (no "in", "s", "m").
  {
    kind: "number-unit",
    pattern:
      /(?<![\w.,])\d+(?:[.,]\d+)*\s?(?:%|°[CF]|km\/h|kWh|mAh|GHz|MHz|kHz|Hz|km|cm|mm|nm|µm|kg|mg|ml|kW|GB|MB|kB|KB|TB|mph|ms)(?![\p{L}\d])/gu,
  },
];

export const SENTINEL_OPEN = "⟦";
export const SENTINEL_CLOSE = "⟧";

export function sentinel(n: number): string {
  return `${SENTINEL_OPEN}${n}${SENTINEL_CLOSE}`;
}

/** Whole-word, case-insensitive occurrences of a literal string (for caller-given spans). */
function literalPattern(value: string): RegExp {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, "giu");
}

/**
 * The protected spans of `text`, in order, without overlaps. `extra` strings (e.g. IFEval keywords
 * that must come back unchanged or be swapped for their own translation) are matched first,
 * longest first, as whole words regardless of case.
 */
export function protectedSpans(text: string, extra: readonly string[] = []): { start: number; end: number; kind: string }[] {
  const spans: { start: number; end: number; kind: string }[] = [];
  const patterns = [
    ...[...extra]
      .filter((value) => value.trim() !== "")
      .sort((a, b) => b.length - a.length)
      .map((value) => ({ kind: "extra", pattern: literalPattern(value) })),
    ...PATTERNS,
  ];
  for (const { kind, pattern } of patterns) {
    for (const match of text.matchAll(pattern)) {
      const start = match.index;
      const end = start + match[0].length;
      if (spans.some((span) => start < span.end && end > span.start)) continue;
      spans.push({ start, end, kind });
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

export function protect(text: string, extra: readonly string[] = []): Protected {
  const values: string[] = [];
  const kinds: string[] = [];
  let out = "";
  let at = 0;
  for (const span of protectedSpans(text, extra)) {
    out += text.slice(at, span.start);
    values.push(text.slice(span.start, span.end));
    kinds.push(span.kind);
    out += sentinel(values.length);
    at = span.end;
  }
  out += text.slice(at);
  return { text: out, values, kinds };
}

// Models sometimes add spaces inside the brackets; those still count as the sentinel.
const SENTINEL_IN_OUTPUT = /⟦\s*(\d+)\s*⟧/g;

export function restore(translated: string, values: readonly string[]): Restored {
  const seen = new Map<number, number>();
  const problems: SentinelProblem[] = [];
  const text = translated.replace(SENTINEL_IN_OUTPUT, (whole, digits: string) => {
    const n = Number(digits);
    const value = values[n - 1];
    if (value === undefined) {
      problems.push({ kind: "sentinel-unknown", sentinel: whole });
      return whole;
    }
    seen.set(n, (seen.get(n) ?? 0) + 1);
    return value;
  });
  for (const [index, value] of values.entries()) {
    const count = seen.get(index + 1) ?? 0;
    if (count === 0) problems.push({ kind: "sentinel-lost", sentinel: sentinel(index + 1), value });
    else if (count > 1) problems.push({ kind: "sentinel-duplicated", sentinel: sentinel(index + 1), value });
  }
  return { text, problems };
}
