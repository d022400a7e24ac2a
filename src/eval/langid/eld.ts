/**
 * `eld` (Nito-ELD, npm `eld` 2.1) as an alternative language detector, with its codes mapped onto
 * the ones langdetect emits.
 *
 * eld is a different model (byte 4-grams over its own data, 60 languages), so it will not always
 * agree with langdetect; `compareDetectors` in index.ts lists where it does not.
 *
 * Code mapping (eld → kielo, which uses langdetect's codes):
 * - `""` (eld found no language) → null.
 * - `zh` → `zh-cn`: eld has one Chinese; langdetect tells simplified (`zh-cn`) from traditional
 *   (`zh-tw`). Traditional Chinese text is therefore reported as `zh-cn` by eld.
 * - every other code is ISO 639-1 in both and passes through unchanged. eld can also return 13
 *   languages langdetect lacks (am az be eu hy is ka ku lo ms or sr yo); langdetect has 8 that eld
 *   lacks (af cy id mk ne so sw zh-tw), so eld never returns those.
 */

/** The database sizes eld ships: bigger is slightly more accurate and slower to load. */
export type EldSize = "extrasmall" | "small" | "medium" | "large";
export const DEFAULT_ELD_SIZE: EldSize = "medium";

/** The part of eld's detector object used here (the package's own `.d.ts` types it loosely). */
interface EldInstance {
  detect(text: string): { language: string };
}

const ELD_TO_LANGDETECT: Readonly<Record<string, string>> = { zh: "zh-cn" };

/** Languages eld can return that are not langdetect codes, and the reverse (for documentation). */
export const ELD_ONLY_LANGUAGES = ["am", "az", "be", "eu", "hy", "is", "ka", "ku", "lo", "ms", "or", "sr", "yo"] as const;
export const LANGDETECT_ONLY_LANGUAGES = ["af", "cy", "id", "mk", "ne", "so", "sw", "zh-tw"] as const;

/** eld's code → langdetect's code; null when eld gave no language. */
export function eldCodeToLangdetect(code: string): string | null {
  if (code === "") return null;
  return ELD_TO_LANGDETECT[code] ?? code;
}

export interface EldDetector {
  readonly size: EldSize;
  detect(text: string): string | null;
}

/**
 * Load one eld database (its own instance: settings are not shared with other users of eld).
 * Static imports per size, so only the requested database (1–4.5 MB of JS) is parsed.
 */
export async function loadEld(size: EldSize = DEFAULT_ELD_SIZE): Promise<EldDetector> {
  const module = await importEldSize(size);
  const instance = (module.eld as unknown as { newInstance(): EldInstance }).newInstance();
  return {
    size,
    detect: (text: string) => eldCodeToLangdetect(instance.detect(text).language),
  };
}

function importEldSize(size: EldSize): Promise<{ eld: unknown }> {
  switch (size) {
    case "extrasmall":
      return import("eld/extrasmall");
    case "small":
      return import("eld/small");
    case "medium":
      return import("eld/medium");
    case "large":
      return import("eld/large");
  }
}
