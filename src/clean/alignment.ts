/**
 * Misalignment without a model: is the target a translation of *this* source, or a fluent
 * translation of another message of similar length? Two kinds of evidence, both needing no
 * dictionary shipped with kielo:
 *
 * - anchors that survive translation unchanged: numbers, names, code identifiers, URL and e-mail
 *   parts, Latin terms kept in a Hindi or Japanese text — a target token that occurs in the source;
 * - word correspondences learned from the file itself: over all (source, target) pairs of a
 *   language pair, a target token and a source token that occur together in most of the pairs
 *   where either occurs (Dice coefficient) translate each other (Finnish "kissa" ↔ English "cat").
 *   A few swapped rows in the file do not disturb this: correspondences need repeated co-occurrence.
 *
 * The coverage of a target is the share of its tokens with such evidence that find their
 * counterpart in the source. Good translations cover most; a misaligned target covers only what
 * chance gives. Both rates are learned per language pair from the file itself: p_good is the
 * median coverage of the file's own pairs, p_chance the mean coverage of each source by the target
 * of *another* field of about the same length (the field next in source length). A field with n
 * evidence tokens of which k are found is misaligned when chance explains it better than a good
 * translation by at least `min_log_odds` (binomial log-likelihood ratio): a long text needs a
 * clearly low coverage, a short one an all but empty one, so short texts are not flagged on noise.
 * The same in the other direction (the source's evidence carried into the target, with its own
 * two rates); the misaligned rule sums both log-likelihood ratios, and either alone decides when
 * the other direction has too little evidence.
 *
 * Tokens: lowercase words cut to their first five letters (a crude stem that lets inflected Finnish
 * forms meet), numbers whole, and character bigrams in scripts written without spaces (CJK, Thai).
 * Shape counts as evidence only where present (a question, a list, several paragraphs): as counts
 * on every text ("1 paragraph, 0 lists") it was shared by most texts of similar length and diluted
 * the coverage of swapped ones.
 */
import { anchorDifference, formatAnchors } from "../text/format-anchors.ts";
import { median } from "./length-ratio.ts";

const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/** Digits of any script as ASCII digits (Devanagari "२०" and full-width "２０" are the anchor "20"). */
function asciiDigits(text: string): string {
  // NFKC folds full-width and mathematical digits; other scripts' decimal digits are runs of ten
  // code points from their zero (Unicode's layout for Nd), so the value is the distance to it.
  return text.normalize("NFKC").replace(/[^\P{Nd}0-9]/gu, (digit) => {
    const code = digit.codePointAt(0)!;
    let zero = code;
    while (code - zero < 9 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero -= 1;
    return String(code - zero);
  });
}

export function alignmentTokens(text: string): string[] {
  const out = new Set<string>();
  // Numbers apart from letters: "10th" and "10." are the same anchor.
  for (const word of asciiDigits(text).toLowerCase().match(/[\p{L}\p{M}]+|\p{N}+/gu) ?? []) {
    if (UNSPACED.test(word)) {
      const chars = [...word];
      for (let i = 0; i + 2 <= chars.length; i++) out.add(chars[i]! + chars[i + 1]!);
    } else if (/^\p{N}+$/u.test(word) || [...word].length >= 3) {
      out.add([...word].slice(0, 5).join(""));
    }
  }
  // Marks of shape that translation keeps, emitted only where present (so texts without them are
  // not made alike): a question, a list, several paragraphs.
  if (/[?？]/u.test(text)) out.add("⟨question⟩");
  if (text.split("\n").filter((line) => /^\s*(?:[-*•]|\d+[.)])\s+\S/u.test(line)).length >= 2) out.add("⟨list⟩");
  if (text.trim().split(/\n[ \t]*\n/).length >= 2) out.add("⟨paragraphs⟩");
  return [...out];
}

/**
 * Numbers, names and identifiers of a text, which translations keep as they are: words with a
 * digit, a capital after their first letter ("PCRE", "GtkPackType"), a dot or underscore inside
 * ("index.theme"), or an opening parenthesis right after them (a function: "seek()"). Not any
 * capitalised word: English capitalises list items and titles ("… or not: Alligator, Grass, Tree")
 * that a translation translates.
 */
export function namesOf(text: string): string {
  const names: string[] = [];
  for (const match of text.matchAll(/[\p{L}\p{M}\p{N}]+(?:[._][\p{L}\p{M}\p{N}]+)*/gu)) {
    const word = match[0];
    const call = text[match.index + word.length] === "(";
    if (call || /\p{N}|[._]/u.test(word) || /^.\P{Lu}*\p{Lu}/u.test(word)) names.push(word);
  }
  return names.join(" ");
}

/** A target token with more equally good counterparts than this tells nothing. */
const MAX_COUNTERPARTS = 3;
/** Other sources scored as possible owners of a target: those sharing the most evidence with it. */
const RIVALS = 5;
/** Keys a rival is searched by (the rarest of the target's), and the most sources a key may point to. */
const RARE_KEYS = 8;
const MAX_POSTINGS = 200;

export interface AlignmentConfig {
  min_log_odds: number;
  min_evidence: number;
  min_pairs: number;
  min_dice: number;
  max_groups: number;
}

export interface AlignmentModel {
  pair: string;
  /** Pairs learned from. */
  pairs: number;
  /** Learned target-token → source-token correspondences. */
  correspondences: number;
  /** Coverage of good translations (median over the file) and of another target of similar length (mean, chance). */
  p_good: number;
  p_chance: number;
  /** Evidence tokens of a target and how many of them are found in the source; undefined below min_evidence. */
  coverage(source: string, target: string): { evidence: number; found: number } | undefined;
  /**
   * The other direction: evidence tokens of the source (numbers, names and identifiers, format
   * directives and tags, words with a learned counterpart) and how many of them the target carries; undefined below min_evidence.
   * A target cut short loses what its missing part translated.
   */
  sourceCoverage(source: string, target: string): { evidence: number; found: number } | undefined;
  /** Median share of the source's evidence that the file's own targets carry. */
  p_source: number;
  /** Mean share of it that the target of another field of similar source length carries. */
  p_source_chance: number;
  /** log P(found | chance) − log P(found | good translation) of the target's coverage; misaligned above min_log_odds. */
  logOdds(coverage: { evidence: number; found: number }): number;
  /** The same for the source's coverage by the target. */
  logOddsSource(coverage: { evidence: number; found: number }): number;
  /**
   * The other source of the file that explains this target best: log P(good) − log P(chance) of
   * the target with that source, both directions summed (undefined: no other source shares evidence).
   * Fields of `group` (one record, whose fields share topic words) are not candidates.
   */
  rival(source: string, target: string, group: string | undefined): { odds: number; source: string } | undefined;
}

function documentFrequency(documents: readonly string[][]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const document of documents) for (const token of document) counts.set(token, (counts.get(token) ?? 0) + 1);
  return counts;
}

/**
 * Learn correspondences and the two coverage rates from the (source, target) fields of one
 * language pair; undefined with too few fields. Fields of one record (a Dolly instruction and its
 * response) share topic words, so co-occurrence is counted per record (`group`), else every
 * topic word of a record would look like the translation of every other.
 */
export function learnAlignment(
  pair: string,
  texts: readonly { source: string; target: string; group?: string }[],
  config: AlignmentConfig,
): AlignmentModel | undefined {
  if (texts.length < config.min_pairs) return undefined;
  // Every text is tokenised once: the rival search scores each target against several sources.
  const cache = new Map<string, ReadonlySet<string>>();
  const tokensOf = (text: string) => {
    let tokens = cache.get(text);
    if (tokens === undefined) {
      tokens = new Set(alignmentTokens(text));
      cache.set(text, tokens);
    }
    return tokens;
  };
  const groups = new Map<string, { source: Set<string>; target: Set<string> }>();
  // A target text that occurs twice (a swapped row copies another row's target) is one document:
  // else its words would co-occur twice with the words of two unrelated sources and seem to translate them.
  const groupOfTarget = new Map<string, string>();
  for (const [index, text] of texts.entries()) {
    const normalised = text.target.trim();
    const key = groupOfTarget.get(normalised) ?? text.group ?? `#${index}`;
    groupOfTarget.set(normalised, key);
    const group = groups.get(key) ?? { source: new Set<string>(), target: new Set<string>() };
    for (const token of tokensOf(text.source)) group.source.add(token);
    for (const token of tokensOf(text.target)) group.target.add(token);
    groups.set(key, group);
  }
  // Learn from at most max_groups records, evenly spaced: co-occurrence grows with records × words².
  const all = [...groups.values()];
  const step = Math.max(1, Math.ceil(all.length / config.max_groups));
  const sampled = all.filter((_, index) => index % step === 0);
  const sources = sampled.map((group) => [...group.source]);
  const targets = sampled.map((group) => [...group.target]);
  const sourceDf = documentFrequency(sources);
  const targetDf = documentFrequency(targets);
  // Tokens in more than a fifth of the records (function words, "the", "ja") say nothing about which text it is.
  const useful = (df: Map<string, number>, token: string) => (df.get(token) ?? 0) >= 2 && df.get(token)! <= 0.2 * sampled.length;
  // Token pairs counted under numeric keys (target id × 2^21 + source id): far lighter than string keys.
  const ids = new Map<string, number>();
  const idOf = (token: string) => {
    let id = ids.get(token);
    if (id === undefined) {
      id = ids.size;
      ids.set(token, id);
    }
    return id;
  };
  const tokenOf: string[] = [];
  const together = new Map<number, number>();
  for (const [i, sourceTokens] of sources.entries()) {
    const kept = sourceTokens.filter((token) => useful(sourceDf, token)).map(idOf);
    for (const target of targets[i]!) {
      if (!useful(targetDf, target)) continue;
      const base = idOf(target) * 2 ** 21;
      for (const source of kept) together.set(base + source, (together.get(base + source) ?? 0) + 1);
    }
  }
  for (const [token, id] of ids) tokenOf[id] = token;
  // Each target token keeps its best counterparts (one with many equally good ones — rare words that
  // met only in the same two records — is ambiguous and left out), and only those for which it is
  // also among the source token's best: a rare source word that met a target word twice is not its
  // translation if it met another one more often.
  const best = new Map<string, { dice: number; tokens: string[] }>();
  const bestOfSource = new Map<string, { dice: number; tokens: string[] }>();
  const keepBest = (map: Map<string, { dice: number; tokens: string[] }>, key: string, dice: number, token: string) => {
    const current = map.get(key);
    if (current === undefined || dice > current.dice + 1e-9) map.set(key, { dice, tokens: [token] });
    else if (Math.abs(dice - current.dice) <= 1e-9) current.tokens.push(token);
  };
  for (const [key, n] of together) {
    if (n < 2) continue;
    const target = tokenOf[Math.floor(key / 2 ** 21)]!;
    const source = tokenOf[key % 2 ** 21]!;
    const dice = (2 * n) / (sourceDf.get(source)! + targetDf.get(target)!);
    if (dice < config.min_dice) continue;
    keepBest(best, target, dice, source);
    keepBest(bestOfSource, source, dice, target);
  }
  const correspondences = new Map<string, string[]>();
  let count = 0;
  for (const [target, { tokens }] of best) {
    if (tokens.length > MAX_COUNTERPARTS) continue;
    const counterparts = tokens.filter((source) => bestOfSource.get(source)!.tokens.includes(target));
    if (counterparts.length === 0) continue;
    correspondences.set(target, counterparts);
    count += counterparts.length;
  }
  const coverage = (source: string, target: string): { evidence: number; found: number } | undefined => {
    const sourceTokens = tokensOf(source);
    // Numbers, and Latin words in a target written mostly in another script, are kept as they are
    // in translation: one the source lacks is a missed anchor (it came from another text).
    const latin = target.match(/\p{Script=Latin}/gu)?.length ?? 0;
    const otherScript = (target.match(/\p{L}/gu)?.length ?? 0) > 2 * latin;
    const keptAsIs = (token: string) => /^\p{N}+$/u.test(token) || (otherScript && /^\p{Script=Latin}/u.test(token));
    let evidence = 0;
    let found = 0;
    for (const token of tokensOf(target)) {
      const counterparts = correspondences.get(token);
      const anchor = sourceTokens.has(token);
      if (!anchor && counterparts === undefined && !keptAsIs(token)) continue;
      evidence += 1;
      if (anchor || counterparts?.some((counterpart) => sourceTokens.has(counterpart))) found += 1;
    }
    return evidence < config.min_evidence ? undefined : { evidence, found };
  };
  const counterpartsOfSource = new Map<string, string[]>();
  for (const [target, sources] of correspondences) {
    for (const source of sources) counterpartsOfSource.set(source, [...(counterpartsOfSource.get(source) ?? []), target]);
  }
  const sourceCoverage = (source: string, target: string): { evidence: number; found: number } | undefined => {
    const targetTokens = tokensOf(target);
    const keptAsIs = tokensOf(namesOf(source));
    let evidence = 0;
    let found = 0;
    for (const token of tokensOf(source)) {
      if (token.startsWith("⟨")) continue;
      const counterparts = counterpartsOfSource.get(token);
      const kept = keptAsIs.has(token);
      if (counterparts === undefined && !kept) continue;
      evidence += 1;
      if (targetTokens.has(token) || counterparts?.some((counterpart) => targetTokens.has(counterpart))) found += 1;
    }
    // Format directives and tags (`%s`, `<b>`), which every translation keeps.
    const anchors = formatAnchors(source).length;
    evidence += anchors;
    found += anchors - anchorDifference(source, target).missing.length;
    return evidence < config.min_evidence ? undefined : { evidence, found };
  };
  const share = (value: { evidence: number; found: number } | undefined) => (value === undefined ? undefined : value.found / value.evidence);
  const defined = (values: (number | undefined)[]) => values.filter((value) => value !== undefined);
  const own = defined(texts.map((text) => share(coverage(text.source, text.target))));
  // Chance: each source against the target of its neighbour in source length (a swap that passes length checks).
  const bySourceLength = texts.map((text, index) => ({ index, length: text.source.length })).sort((a, b) => a.length - b.length);
  const neighbours = bySourceLength.flatMap((entry, rank) => {
    const other = bySourceLength[rank + 1 < bySourceLength.length ? rank + 1 : rank - 1];
    return other === undefined ? [] : [{ source: texts[entry.index]!.source, target: texts[other.index]!.target }];
  });
  const chanceCoverage = neighbours.map((swap) => coverage(swap.source, swap.target)).filter((value) => value !== undefined);
  const chanceSourceCoverage = neighbours.map((swap) => sourceCoverage(swap.source, swap.target)).filter((value) => value !== undefined);
  const chance = chanceCoverage.map((value) => value.found / value.evidence);
  const chanceSource = chanceSourceCoverage.map((value) => value.found / value.evidence);
  const mean = (values: number[], otherwise: number) => (values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : otherwise);
  // Clamped so that a degenerate file (all perfect, or chance finding nothing) keeps both rates usable.
  // p_good at most 0.85: coverage varies more between texts than a binomial allows (a terse source,
  // a free translation), and a higher rate would make every miss look like evidence.
  const ownSource = defined(texts.map((text) => share(sourceCoverage(text.source, text.target))));
  const pSource = ownSource.length > 0 ? median(ownSource) : 0.8;
  const pSourceGood = Math.min(0.85, Math.max(0.5, pSource));
  const pSourceChance = Math.min(0.5, Math.max(0.02, mean(chanceSource, 0.1)));
  const pGood = Math.min(0.85, Math.max(0.5, own.length > 0 ? median(own) : 0.8));
  const pChance = Math.min(0.5, Math.max(0.02, mean(chance, 0.1)));
  // Binomial log-likelihood ratio of chance over a good translation; chance kept below good so
  // that a file whose swaps cover as much as its own pairs flags nothing.
  const binomialLogOdds = (good: number, chanceRate: number) => ({ evidence, found }: { evidence: number; found: number }) => {
    const bad = Math.min(chanceRate, good - 0.05);
    return found * Math.log(bad / good) + (evidence - found) * Math.log((1 - bad) / (1 - good));
  };
  const logOdds = binomialLogOdds(pGood, pChance);
  const logOddsSource = binomialLogOdds(pSourceGood, pSourceChance);
  // Rivals are looked up through an index of source tokens: the few sources sharing the most
  // evidence with a target (itself, or a learned counterpart) are scored in full.
  // Format directives and tags with their counts ("%d ×4") are keys too: a target of kept
  // directives and words with no learned counterpart still finds the source it translates.
  const anchorKeys = (text: string) => {
    const counts = new Map<string, number>();
    for (const anchor of formatAnchors(text)) counts.set(anchor, (counts.get(anchor) ?? 0) + 1);
    return [...counts].map(([anchor, count]) => `⟦${anchor} ×${count}⟧`);
  };
  const postings = new Map<string, number[]>();
  for (const [index, text] of texts.entries()) {
    for (const token of [...tokensOf(text.source), ...anchorKeys(text.source)]) {
      if (token.startsWith("⟨")) continue;
      const rows = postings.get(token);
      if (rows === undefined) postings.set(token, [index]);
      else rows.push(index);
    }
  }
  // How well a target translates a source, both directions summed: log P(good) − log P(chance),
  // and the share of the evidence found; undefined without evidence.
  const fitOf = (source: string, target: string) => {
    const forward = coverage(source, target);
    const backward = sourceCoverage(source, target);
    if (forward === undefined && backward === undefined) return undefined;
    const odds = -((forward === undefined ? 0 : logOdds(forward)) + (backward === undefined ? 0 : logOddsSource(backward)));
    const share = ((forward?.found ?? 0) + (backward?.found ?? 0)) / ((forward?.evidence ?? 0) + (backward?.evidence ?? 0));
    return { odds, share };
  };
  const rival = (source: string, target: string, group: string | undefined) => {
    // The target's rarest keys (its tokens, and their learned counterparts) find the sources it
    // may translate, as a search engine ranks by rare words: a token in a fifth of the sources
    // points nowhere, and a bounded number of short posting lists keeps the search linear in the
    // file's size.
    const keys = new Map<string, number[]>();
    for (const token of [...tokensOf(target), ...anchorKeys(target)]) {
      for (const key of [token, ...(correspondences.get(token) ?? [])]) {
        const rows = postings.get(key);
        if (rows !== undefined && rows.length <= Math.min(MAX_POSTINGS, 0.2 * texts.length)) keys.set(key, rows);
      }
    }
    const hits = new Map<number, number>();
    for (const rows of [...keys.values()].sort((a, b) => a.length - b.length).slice(0, RARE_KEYS)) {
      for (const index of rows) hits.set(index, (hits.get(index) ?? 0) + 1);
    }
    const candidates = [...hits]
      .filter(([index]) => texts[index]!.source !== source && (group === undefined || texts[index]!.group !== group))
      .sort((a, b) => b[1] - a[1])
      .slice(0, RIVALS);
    // A rival must find a larger share of the evidence than the own source does (two sources that
    // say the same, "No package found" and "No packages found", are both explained by either's translation).
    const ownShare = fitOf(source, target)?.share ?? 0;
    let best: { odds: number; source: string } | undefined;
    for (const [index] of candidates) {
      const other = texts[index]!;
      const fit = fitOf(other.source, target);
      if (fit === undefined || fit.share <= ownShare) continue;
      // A rival whose own target translates it better is a near paraphrase with a translation of
      // its own ("Couldn't allocate memory to load…" and "…to save…"), not the text this one was
      // shifted from: that one has lost its target, or holds the same one.
      const own = fitOf(other.source, other.target);
      if (own !== undefined && own.odds > fit.odds + 1e-9) continue;
      if (best === undefined || fit.odds > best.odds) best = { odds: fit.odds, source: other.source };
    }
    return best;
  };
  return {
    pair,
    pairs: texts.length,
    correspondences: count,
    p_good: pGood,
    p_chance: pChance,
    coverage,
    sourceCoverage,
    p_source: pSource,
    p_source_chance: pSourceChance,
    logOdds,
    logOddsSource,
    rival,
  };
}
