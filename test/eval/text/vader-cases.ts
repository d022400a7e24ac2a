/**
 * Texts that walk every rule of VADER 3.3.2, for the port's parity test: the package's own demo
 * sentences, hand-written cases per rule, and generated sentences mixing the rules' trigger words.
 */
import { seededRandom } from "../../../src/util/random.ts";

/** The example sentences of vaderSentiment.py's `__main__` demo. */
export const DEMO_SENTENCES = [
  "VADER is smart, handsome, and funny.",
  "VADER is smart, handsome, and funny!",
  "VADER is very smart, handsome, and funny.",
  "VADER is VERY SMART, handsome, and FUNNY.",
  "VADER is VERY SMART, handsome, and FUNNY!!!",
  "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
  "VADER is not smart, handsome, nor funny.",
  "The book was good.",
  "At least it isn't a horrible book.",
  "The book was only kind of good.",
  "The plot was good, but the characters are uncompelling and the dialog is not great.",
  "Today SUX!",
  "Today only kinda sux! But I'll get by, lol",
  "Make sure you :) or :D today!",
  "Catch utf-8 emoji such as 💘 and 💋 and 😁",
  "Not bad at all",
  "Sentiment analysis has never been good.",
  "Sentiment analysis has never been this good!",
  "Most automated sentiment analysis tools are shit.",
  "With VADER, sentiment analysis is the shit!",
  "Other sentiment analysis tools can be quite bad.",
  "On the other hand, VADER is quite bad ass",
  "VADER is such a badass!",
  "Without a doubt, excellent idea.",
  "Roger Dodger is one of the most compelling variations on this theme.",
  "Roger Dodger is at least compelling as a variation on the theme.",
  "Roger Dodger is one of the least compelling variations on this theme.",
  "Not such a badass after all.",
  "Without a doubt, an excellent idea.",
  "It was one of the worst movies I've seen, despite good reviews. Unbelievably bad acting!! Poor direction. VERY poor production. The movie was bad. Very bad movie. VERY BAD movie!",
  "happy birthday", "laughing", "smiling", "party", "riot", "fire", "fight", "tear gas",
];

/** Hand-written cases, grouped by the rule they exercise. */
export const RULE_CASES: Record<string, string[]> = {
  negation: [
    "not good", "It isn't bad.", "I don't like it", "never good", "never so good", "never this good",
    "it was never so very good", "never really this good", "without doubt good", "without a doubt good",
    "without any doubt a good idea", "no problem", "no good", "no good or bad", "no good nor bad",
    "there is no love lost", "no, love", "No LOVE here", "no", "No.", "no no no", "I have no idea",
    "ain't good", "aint bad", "uh-uh good", "uhuh nice", "wouldn't recommend", "cannot complain",
    "nothing good", "nor happy", "despite the great cast", "seldom happy", "rarely sad",
    "He doesn't't like it", "can't stand it", "NOT GOOD at all", "Not good, not bad.",
  ],
  least: ["the least good", "at least good", "very least good", "least good", "Least bad.", "at the least helpful", "least"],
  boosters: [
    "very good", "VERY good", "very GOOD", "Very Good", "extremely bad", "EXTREMELY bad news",
    "kind of good", "kinda bad", "kind-of nice", "sort of nice", "sorta sad", "just enough fun",
    "it was just enough good", "It is sort of very nice", "slightly VERY good", "barely bad",
    "hardly good", "really really really good", "so so so sad", "the most hated", "less happy",
    "kind", "kind of", "of kind", "the kind of joy", "quite a little sad", "totally not good",
  ],
  caps: ["THIS IS GREAT", "This is GREAT", "GOOD good", "I am SO HAPPY", "I am so HAPPY", "HATE it", "ok OK", "I", "A B C good"],
  but: [
    "good but bad", "good good but bad bad", "bad but good but great", "but", "But good", "good, but",
    "nice nice but nice", "great but not great", "I love it but hate it but love it",
    "love but love love", "Sad sad sad, BUT happy happy", "nice butter", "but... nice",
  ],
  idioms: [
    "the shit", "the bomb", "bad ass", "yeah right", "kiss of death", "to die for", "beating heart",
    "bus stop", "this is the shit", "a total badass", "that is the kiss of death sentence",
    "oh I would say yeah right", "the food was to die for", "my beating heart is happy",
    "we waited at the bus stop sadly", "he is the bomb dude", "what a bad ass car", "cut the mustard",
    "under the weather", "in the red", "it is sort of the bomb", "really the shit man",
  ],
  punctuation: [
    "good!!!!!!", "bad???", "good??", "good?", "good?!?!", "!!!!", "?????", "good !!! ???", "bad!",
    "Great!!", "Terrible?!?!?!?!", "ok...", "good.", "...good...", "'good'", "\"bad\"", "(great)",
    "--", "a", "'s", "good,", ":-)", ":)", ":-(", ":D", "<3", ":'(", "(:", "xD", "^_^", ";)", "=)",
  ],
  emoji: [
    "😁", "I 😁 you", "good😁", "😁😁", "💘💋", "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland", "👍🏽 great", "❤️", "❤ love",
    "©", "‼", "ok 👌!", "🙂 but 😡", "not 😁", "very 😍", "I hate 🙁 this", "😂😂😂 so funny", "🤬!!!",
  ],
  whitespace: [
    "", "   ", "\t\n", "good\u00a0bad", "good\u3000great", "good\u001cbad", "good\u0085nice",
    "good\ufeffbad", "good\u200bbad", " good ", "good\r\nbad", "\u2028happy\u2029sad",
  ],
  unicode: [
    "İYİ good", "ÉNORME good", "Straße is GOOD", "ΣΟΦΟΣ good", "ǅ good", "Ⓐ GOOD", "ÇA VA GOOD",
    "naïve love", "Ｇｏｏｄ", "good\u0301", "Ünbelievably good", "TRÈS BIEN good",
  ],
  length: ["good ".repeat(60) + "but" + " bad".repeat(60), "no ".repeat(30) + "good", "!".repeat(20) + " happy"],
};

/** Words that trigger VADER's rules, plus lexicon words of both signs and neutral fillers. */
const VOCABULARY = [
  "good", "bad", "great", "terrible", "love", "hate", "happy", "sad", "nice", "awful", "doubt",
  "kind", "of", "sort", "just", "enough", "very", "extremely", "slightly", "barely", "so", "this",
  "not", "never", "no", "or", "nor", "without", "isn't", "can't", "least", "at", "but", "But",
  "the", "shit", "bomb", "bad", "ass", "yeah", "right", "kiss", "death", "to", "die", "for",
  "beating", "heart", "bus", "stop", "it", "was", "a", "movie", "and", "is", ":)", ":(", "lol",
  "😁", "😡", "💘", "👍", "!", "?", "!!", "??", "???", "...", ",",
];

/** `count` sentences of 1–16 words from {@link VOCABULARY}, in random case and punctuation. */
export function generatedSentences(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const words: string[] = [];
    const length = 1 + random.int(16);
    for (let k = 0; k < length; k++) {
      let word = VOCABULARY[random.int(VOCABULARY.length)]!;
      const shape = random.int(10);
      if (shape === 0) word = word.toUpperCase();
      else if (shape === 1) word = word.charAt(0).toUpperCase() + word.slice(1);
      else if (shape === 2) word += [",", ".", "!", "?", "'", "\""][random.int(6)];
      words.push(word);
    }
    // Emoji are sometimes glued to the word before them, testing the space VADER inserts.
    out.push(words.join(" ").replace(/ (?=[😁😡💘👍])/gu, () => (random.int(2) === 0 ? "" : " ")));
  }
  return out;
}
