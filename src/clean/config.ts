/**
 * Thresholds of `kielo clean`, with their defaults. A `--config` YAML file may set any of them
 * (same names, nested as below); command-line flags override the file.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { KieloError } from "../util/errors.ts";

export const RULES = [
  "empty",
  "wrong-language",
  "untranslated",
  "length-ratio",
  "repetition",
  "scaffolding",
  "truncated",
  "code-block",
  "placeholder",
  "misaligned",
] as const;
export type RuleName = (typeof RULES)[number];

export const CleanConfigSchema = z
  .object({
    /** Rules to apply (default: all). */
    rules: z.array(z.enum(RULES)).default([...RULES]),
    language: z
      .object({
        /** Texts with fewer letters (after removing code, URLs …) are not language-checked: too short to tell. */
        min_letters: z.number().int().min(1).default(30),
        /** Letters in scripts the target language is not written in needed to call it the wrong language (CJK letters count 3). */
        min_script_letters: z.number().int().min(1).default(15),
      })
      .strict()
      .default({ min_letters: 30, min_script_letters: 15 }),
    length_ratio: z
      .object({
        /** Bounds are median ± k × MAD (scaled to σ) of ln(len_target / len_source) over the file. */
        k: z.number().positive().default(5),
        /** Pairs whose source is shorter than this are neither learned from nor checked. */
        min_source_chars: z.number().int().min(1).default(50),
        /** Fewer eligible pairs than this for a language pair: use `fallback` instead of learning. */
        min_samples: z.number().int().min(3).default(30),
        /** A floor on the half-width of the learned interval (in ln units), against a degenerate MAD. */
        min_half_width: z.number().min(0).default(0.25),
        /** Sources shorter than this get bounds learned from the short ones alone (when there are min_samples of them). */
        short_chars: z.number().int().min(1).default(120),
        /** ln-ratio bounds when there are too few samples. */
        fallback: z.tuple([z.number(), z.number()]).default([Math.log(1 / 3), Math.log(3)]),
      })
      .strict()
      .default({ k: 5, min_source_chars: 50, min_samples: 30, min_half_width: 0.25, short_chars: 120, fallback: [Math.log(1 / 3), Math.log(3)] }),
    repetition: z
      .object({
        /** A run of the same word n-gram repeated this many times in a row (more than in the source) is a loop. */
        min_repeats: z.number().int().min(2).default(4),
        /** Only runs covering at least this many words count (so "no, no, no" is fine). */
        min_run_words: z.number().int().min(1).default(8),
      })
      .strict()
      .default({ min_repeats: 4, min_run_words: 8 }),
    untranslated: z
      .object({
        /** A target this close to its source (share of target words found in the source) is a copy. */
        max_word_overlap: z.number().min(0).max(1).default(0.7),
        /** Overlap (and an identical copy) is only judged with at least this many target words. */
        min_words: z.number().int().min(1).default(8),
        /** Sentences with at least this many letters are language-checked one by one. */
        sentence_min_letters: z.number().int().min(1).default(40),
        /** Flag when the letters left in the source language are at least this share of the text … */
        max_left_share: z.number().min(0).max(1).default(0.15),
        /** … and at least this many letters. */
        min_left_letters: z.number().int().min(1).default(40),
      })
      .strict()
      .default({ max_word_overlap: 0.7, min_words: 8, sentence_min_letters: 40, max_left_share: 0.15, min_left_letters: 40 }),
    truncation: z
      .object({
        /**
         * A target shorter than median − k·MAD that stops mid-sentence while its source ends a
         * sentence, or (a source without a final mark: a UI label) does not end like a sentence.
         */
        k: z.number().positive().default(2),
        /**
         * Sources shorter than length_ratio.min_source_chars need a shortfall of k_short·MAD of the
         * ratios of such short sources (learned when the file has length_ratio.min_samples of them) …
         */
        k_short: z.number().positive().default(3),
        /** … or of k_short_fallback·MAD of the longer sources' ratios (fewer than that), whose spread is smaller … */
        k_short_fallback: z.number().positive().default(4),
        /** … and sources shorter than this are judged by their ending only. */
        min_source_chars: z.number().int().min(1).default(30),
        /**
         * A target that carries at most this share of its source's numbers, names and learned word
         * counterparts (misaligned's model) and does not end like a sentence …
         */
        max_source_coverage: z.number().min(0).max(1).default(0.5),
        /** … is truncated with a shortfall of k_coverage·MAD, whatever the length of its source (from min_source_chars). */
        k_coverage: z.number().positive().default(1.5),
        /**
         * A target with no final punctuation where its source ends a sentence or on a colon, shorter
         * than median − k_final_mark·MAD, whatever the length of its source. Between k and k_short:
         * good gettext translations drop the mark about one time in ten, so at 2.5 (≈ 0.6 % of good
         * texts that far below, if normal) it flags about as few as the weak endings (≤ 3 %) at k.
         */
        k_final_mark: z.number().positive().default(2.5),
        /** … counted only where the file's translations drop the final mark less often than this. */
        max_final_mark_loss: z.number().min(0).max(1).default(0.5),
        /**
         * A target whose last two characters the file's translations of its language pair have
         * inside their text at least e^min_ending_odds times as often as at their end (where their
         * source ends alike), shorter than median − k·MAD, whatever the length of its source.
         */
        min_ending_odds: z.number().positive().default(2.5),
      })
      .strict()
      .default({ k: 2, k_short: 3, k_short_fallback: 4, min_source_chars: 30, max_source_coverage: 0.5, k_coverage: 1.5, k_final_mark: 2.5, max_final_mark_loss: 0.5, min_ending_odds: 2.5 }),
    misaligned: z
      .object({
        /** Flag when chance explains a target's coverage better than a good translation by this log-likelihood ratio. */
        min_log_odds: z.number().positive().default(7),
        /**
         * Evidence that the target translates another source of the file counts beyond this
         * log-odds: the best of several candidate sources fits somewhat by chance.
         */
        rival_margin: z.number().min(0).default(2),
        /** Target tokens with evidence (an anchor or a learned counterpart) needed for a verdict. */
        min_evidence: z.number().int().min(1).default(2),
        /** Fewer (source, target) fields than this for a language pair: nothing to learn from, no verdict. */
        min_pairs: z.number().int().min(10).default(50),
        /** Dice coefficient of co-occurrence above which two tokens are taken to translate each other. */
        min_dice: z.number().min(0).max(1).default(0.5),
        /** Records learned from at most (evenly spaced): memory and time grow with records × words². */
        max_groups: z.number().int().min(10).default(3000),
      })
      .strict()
      .default({ min_log_odds: 7, rival_margin: 2, min_evidence: 2, min_pairs: 50, min_dice: 0.5, max_groups: 3000 }),
    scaffolding: z
      .object({
        /** Extra strings that must not appear in a target unless they are in its source. */
        markers: z.array(z.string()).default([]),
      })
      .strict()
      .default({ markers: [] }),
  })
  .strict();
export type CleanConfig = z.infer<typeof CleanConfigSchema>;

export function loadCleanConfig(path?: string): CleanConfig {
  if (path === undefined) return CleanConfigSchema.parse({});
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8")) ?? {};
  } catch (error) {
    throw new KieloError(`cannot read clean config ${path}: ${(error as Error).message}`);
  }
  const parsed = CleanConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KieloError(`${path} (field ${issue.path.join(".") || "(top)"}): ${issue.message}`);
  }
  return parsed.data;
}
