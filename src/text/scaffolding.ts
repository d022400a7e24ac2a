/**
 * Leaked prompt scaffolding: text of a translation prompt that must not show up in a translation.
 * Translation builds the markers from its prompt file; cleaning looks for them in outputs.
 */

/** An example's target is a leak only when the source is not that example's own source. */
export interface ScaffoldingMarker {
  text: string;
  exampleSource?: string;
}

/** The markers of the translation prompt for a language pair (none when there is no such prompt). */
export type ScaffoldingSource = (from: string, to: string) => readonly ScaffoldingMarker[];
