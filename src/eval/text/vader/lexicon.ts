/**
 * VADER's word lists: the two lexicon files of `vaderSentiment` 3.3.2 (shipped in resources/vader/,
 * see its SOURCES.md) and the constants of `vaderSentiment.py`, copied as they are.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { pyStrip } from "../../../text/python-str.ts";

export const VADER_VERSION = "3.3.2";

const RESOURCES = fileURLToPath(new URL("../../../../resources/vader", import.meta.url));

/** Empirically derived mean sentiment intensity rating increase for booster words. */
export const B_INCR = 0.293;
export const B_DECR = -0.293;
/** … for using ALLCAPS to emphasise a word. */
export const C_INCR = 0.733;
export const N_SCALAR = -0.74;

export const NEGATE: ReadonlySet<string> = new Set([
  "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
  "ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
  "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither",
  "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
  "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
  "oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent",
  "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't",
  "without", "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite",
]);

const BOOSTERS = [
  "absolutely", "amazingly", "awfully", "completely", "considerable", "considerably", "decidedly",
  "deeply", "effing", "enormous", "enormously", "entirely", "especially", "exceptional",
  "exceptionally", "extreme", "extremely", "fabulously", "flipping", "flippin", "frackin",
  "fracking", "fricking", "frickin", "frigging", "friggin", "fully", "fuckin", "fucking", "fuggin",
  "fugging", "greatly", "hella", "highly", "hugely", "incredible", "incredibly", "intensely",
  "major", "majorly", "more", "most", "particularly", "purely", "quite", "really", "remarkably",
  "so", "substantially", "thoroughly", "total", "totally", "tremendous", "tremendously", "uber",
  "unbelievably", "unusually", "utter", "utterly", "very",
];
const DAMPENERS = [
  "almost", "barely", "hardly", "just enough", "kind of", "kinda", "kindof", "kind-of", "less",
  "little", "marginal", "marginally", "occasional", "occasionally", "partly", "scarce", "scarcely",
  "slight", "slightly", "somewhat", "sort of", "sorta", "sortof", "sort-of",
];

/** Booster/dampener intensifiers (degree adverbs) and their increments. */
export const BOOSTER_DICT: ReadonlyMap<string, number> = new Map([
  ...BOOSTERS.map((word) => [word, B_INCR] as const),
  ...DAMPENERS.map((word) => [word, B_DECR] as const),
]);

/** Special-case idioms and phrases containing lexicon words (`SPECIAL_CASES`). */
export const SPECIAL_CASES: ReadonlyMap<string, number> = new Map([
  ["the shit", 3], ["the bomb", 3], ["bad ass", 1.5], ["badass", 1.5], ["bus stop", 0.0],
  ["yeah right", -2], ["kiss of death", -1.5], ["to die for", 3], ["beating heart", 3.5],
]);
// SENTIMENT_LADEN_IDIOMS is "future work, not yet implemented" in 3.3.2: polarity_scores never uses it.

export interface VaderLexicons {
  /** Token → mean valence (`make_lex_dict`). */
  lexicon: ReadonlyMap<string, number>;
  /** Emoji → its text description (`make_emoji_dict`). */
  emojis: ReadonlyMap<string, string>;
}

let loaded: VaderLexicons | undefined;

/** The two lexicons, read once per process. */
export function vaderLexicons(): VaderLexicons {
  loaded ??= { lexicon: readLexicon(), emojis: readEmojis() };
  return loaded;
}

function readLines(name: string): string[] {
  // codecs.open reads the files (CRLF line ends) without newline translation; `strip()` drops the \r.
  return gunzipSync(readFileSync(`${RESOURCES}/${name}`)).toString("utf8").replace(/\n+$/, "").split("\n");
}

function readLexicon(): Map<string, number> {
  const lexicon = new Map<string, number>();
  for (const line of readLines("vader_lexicon.txt.gz")) {
    if (line === "") continue;
    const [word, measure] = pyStrip(line).split("\t") as [string, string];
    lexicon.set(word, Number(measure));
  }
  return lexicon;
}

function readEmojis(): Map<string, string> {
  const emojis = new Map<string, string>();
  for (const line of readLines("emoji_utf8_lexicon.txt.gz")) {
    const [emoji, description] = pyStrip(line).split("\t") as [string, string];
    emojis.set(emoji, description);
  }
  return emojis;
}
