/**
 * The corruptions of the cleaning benchmark: each turns a good (target, source) pair into a bad
 * target, in several wordings, positions and lengths, so that a rule tuned to one form does not
 * pass for one that catches the defect.
 */
import { fencedCodeBlocks } from "../../src/text/fences.ts";
import type { Random } from "../../src/util/random.ts";

export const CORRUPTIONS = [
  "truncated",
  "untranslated",
  "repetition",
  "wrong-language",
  "scaffolding",
  "empty",
  "code-block",
  "misaligned",
] as const;
export type CorruptionKind = (typeof CORRUPTIONS)[number];

export const pick = <T>(items: readonly T[], random: Random): T => items[Math.floor(random.next() * items.length)]!;

function sentences(text: string): string[] {
  return text.split(/(?<=[.!?。！？।])\s*/u).filter((s) => s.trim() !== "");
}

function cutAt(text: string, fraction: number): string {
  const at = Math.floor(text.length * fraction);
  const space = text.lastIndexOf(" ", at);
  // Scripts without spaces (Japanese) are cut anywhere.
  return text.slice(0, space > at / 2 ? space : at);
}

/**
 * Notes a translator (human or LLM) adds around its output, per target language, in that language
 * and in English: prefaces, closing remarks and parenthetical notes about the translation. Worded
 * freely, as such notes come; the rule is not given this list.
 */
const NOTES: Record<string, { preface: string[]; closing: string[]; aside: string[] }> = {
  en: {
    preface: [
      "Here's the Finnish version of the text:",
      "Sure! Below is my rendering of the message into Finnish.",
      "The following is a faithful translation of your text.",
      "Translated from English:",
    ],
    closing: [
      "I hope this translation helps! Let me know if you need any changes.",
      "Note: some idioms were adapted rather than translated word for word.",
      "Translator's note: proper names have been left in their original form.",
    ],
    aside: ["(translator's note: the original uses a pun that does not carry over)", "(literally: \"as the crow flies\")", "[Note: this term has no established equivalent.]"],
  },
  fi: {
    preface: [
      "Tässä pyytämäsi suomennos:",
      "Alla teksti käännettynä suomeksi.",
      "Seuraavassa on viestin suomenkielinen versio.",
      "Käänsin tekstin mahdollisimman uskollisesti alkuperäistä noudattaen:",
    ],
    closing: [
      "Toivottavasti käännöksestä on apua! Kerro, jos haluat muutoksia.",
      "Huom. joitakin termejä ei ole käännetty, koska niille ei ole vakiintunutta suomenkielistä vastinetta.",
      "Suomentajan huomautus: erisnimet on jätetty alkuperäiseen asuunsa.",
    ],
    aside: ["(suomentajan huomautus: alkutekstissä on sanaleikki, joka ei käänny)", "(kirjaimellisesti: \"linnuntietä\")", "[Huom: termille ei ole vakiintunutta suomennosta.]"],
  },
  hi: {
    preface: ["यहाँ पाठ का हिंदी अनुवाद है:", "नीचे संदेश का हिंदी रूपांतर दिया गया है।", "अनुवाद:"],
    closing: ["मुझे आशा है कि यह अनुवाद उपयोगी होगा।", "अनुवादक की टिप्पणी: कुछ तकनीकी शब्द मूल रूप में छोड़े गए हैं।", "मूल अंग्रेज़ी पाठ से अनूदित।"],
    aside: ["(अनुवादक की टिप्पणी: इस शब्द का कोई प्रचलित हिंदी पर्याय नहीं है)", "(शाब्दिक अर्थ: \"सीधा रास्ता\")"],
  },
  ja: {
    preface: ["以下は日本語訳です。", "ご依頼の文章を日本語に翻訳しました：", "訳文："],
    closing: ["この翻訳がお役に立てば幸いです。", "訳注：一部の専門用語は原文のまま残しています。", "※英語の原文から訳出しました。"],
    aside: ["（訳注：原文の言葉遊びは訳出できません）", "（直訳すると「まっすぐに」）"],
  },
};

const LANGUAGE_NAMES: Record<string, string> = { fi: "Finnish", hi: "Hindi", ja: "Japanese" };

/** Leaked prompt scaffolding (stop strings, template tags, labels), as the original bench had it. */
const LEAKS: readonly ((target: string, source: string) => string)[] = [
  (t) => `Finnish: ${t}`,
  (t) => `${t}\n</fi>`,
  (t) => `Käännös: ${t}`,
  (t) => `<fi>\n${t}`,
  (t) => `Translation:\n${t}`,
  (t, s) => `${t}\n</fi>\n\n<en>\n${s.slice(0, 80)}`,
];

export function scaffold(target: string, source: string, lang: string, random: Random): string {
  if (lang === "fi" && random.next() < 0.25) return pick(LEAKS, random)(target, source);
  const english = random.next() < 0.35 || NOTES[lang] === undefined;
  const named = (text: string) => text.replace("Finnish", LANGUAGE_NAMES[lang] ?? lang);
  const base = english ? NOTES["en"]! : NOTES[lang]!;
  const notes = { preface: base.preface.map(named), closing: base.closing.map(named), aside: base.aside };
  const where = random.int(3);
  if (where === 0) return `${pick(notes.preface, random)}\n\n${target}`;
  if (where === 1) return `${target}\n\n${pick(notes.closing, random)}`;
  // A parenthetical note after a sentence (the first, the last or one in between).
  const parts = sentences(target);
  const at = parts.length <= 1 ? parts.length : 1 + random.int(parts.length - 1);
  const joiner = lang === "ja" ? "" : " ";
  return [...parts.slice(0, at), pick(notes.aside, random), ...parts.slice(at)].join(joiner);
}

export interface CorruptionInput {
  target: string;
  /** Empty for data without sources. */
  source: string;
  lang: string;
  /** Real text in other languages (other scripts included), for wrong-language. */
  foreign: readonly string[];
  /** Other targets of the same set with sources of about the same length, for misaligned. */
  similar: readonly string[];
}

export function corrupt(kind: CorruptionKind, input: CorruptionInput, random: Random): string {
  const { target, source } = input;
  switch (kind) {
    case "truncated":
      return cutAt(target, 0.3 + 0.35 * random.next());
    case "untranslated": {
      if (random.next() < 0.4) return source;
      // Partly translated: the first part in the target language, the rest left in the source language.
      const fi = sentences(target);
      const en = sentences(source);
      const joiner = input.lang === "ja" ? "" : " ";
      if (fi.length >= 2 && en.length >= 2) {
        const split = 1 + random.int(Math.min(fi.length, en.length) - 1);
        const tail = en.slice(split).join(" ");
        // A tail of punctuation ("?)" split off by the sentence splitter) leaves nothing untranslated.
        if ((tail.match(/\p{L}/gu)?.length ?? 0) >= 10) return [...fi.slice(0, split), ...en.slice(split)].join(joiner);
      }
      return source;
    }
    case "repetition": {
      const kept = cutAt(target, 0.5 + 0.3 * random.next());
      const parts = sentences(kept);
      const unit = parts.length > 1 ? parts[parts.length - 1]! : kept.split(" ").slice(-8).join(" ");
      const times = 5 + random.int(8);
      return `${kept} ${Array.from({ length: times }, () => unit).join(" ")}`;
    }
    case "wrong-language":
      return pick(input.foreign, random);
    case "scaffolding":
      return scaffold(target, source, input.lang, random);
    case "empty":
      return "";
    case "code-block": {
      const block = fencedCodeBlocks(target)[0]!;
      const lines = block.split("\n");
      const variants = [
        () => target.replace(block, ""), // dropped
        () => target.replace(block, [...lines.slice(0, Math.max(1, Math.floor(lines.length / 2), lines.length - 2)), lines[lines.length - 1]!].join("\n")), // last code line lost
        () => target.replace(block, lines.slice(1, -1).join("\n")), // fences lost
      ];
      return pick(variants, random)();
    }
    case "misaligned":
      return pick(input.similar, random);
  }
}
