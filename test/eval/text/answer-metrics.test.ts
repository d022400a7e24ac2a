/**
 * The answer metrics a low-resource-language study needs besides textstat (repetition, loops,
 * copy of the prompt, lengths in words, code points and tokens, answer language), through
 * `evaluateTexts` — the path `kielo eval text` takes — with the real langdetect port and the real
 * SmolLM2 tokenizer. Every expected value is derived by hand in the comments, on texts built here
 * and on real answers from the fixtures whose value can be seen (a Qwen2.5-0.5B answer that loops,
 * GPT-4o answers that repeat the request as told).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { evaluateTexts } from "../../../src/eval/text/evaluate.ts";
import { answerCorpus } from "./corpus.ts";

const SMOLLM2 = fileURLToPath(new URL("../../../fixtures/models/smollm2-135m-instruct", import.meta.url));

type Measured = Record<string, number | null> & { answer_lang: string | null };

async function measure(prompt: string, answer: string, options: { lang?: string; tokenizer?: string } = {}): Promise<Measured> {
  const [row] = await evaluateTexts([{ key: "a", prompt, answer }], {
    readabilityLang: "en_US",
    targetLang: options.lang,
    tokenizer: options.tokenizer,
    quiet: true,
  });
  return Object.assign({}, row!.metrics, { answer_lang: row!.answer_lang });
}

const corpus = answerCorpus();
const realAnswer = (source: string, start: string) => {
  const found = corpus.find((c) => c.source === source && c.text.startsWith(start));
  assert.ok(found, `${source}: no answer starting ${JSON.stringify(start)}`);
  return found;
};

describe("eval text: answer metrics", () => {
  it("scores repetition and loops on built texts", async () => {
    // 5 + 15 + 1 = 21 words: "the weather is nice today", "i like it" five times, "goodbye".
    // Longest back-to-back run: "i like it" × 5 = 15 words (its double, 6 words × 2 = 12, is shorter).
    // rep-4: 18 four-grams; distinct: 5 starting in the opening words ("… today i like it" the last),
    // 3 inside the loop (i like it i / like it i like / it i like it), 1 ending in "goodbye" → 9.
    const loop = await measure("", `The weather is nice today. ${"I like it. ".repeat(5)}Goodbye.`);
    assert.equal(loop.loop_repeats, 5);
    assert.equal(loop.loop_share, 15 / 21);
    assert.equal(loop.repetition, 1 - 9 / 18);

    // One word six times: a run of 6 repeats covering every word; 3 four-grams, all the same.
    const lala = await measure("", "la la la la la la");
    assert.deepEqual([lala.loop_repeats, lala.loop_share, lala.repetition], [6, 1, 1 - 1 / 3]);

    // Nothing repeats: no run (1 repeat, 0 words), no repeated 4-gram.
    const plain = await measure("", "Saunas are small rooms heated with stones and wood.");
    assert.deepEqual([plain.loop_repeats, plain.loop_share, plain.repetition], [1, 0, 0]);

    // Fewer than 4 words: no 4-gram, so no repetition to measure.
    assert.equal((await measure("", "yes yes yes")).repetition, 0);
  });

  it("scores a real looping answer (Qwen2.5-0.5B, IFEval) and counts its words, code points and SmolLM2 tokens", async () => {
    const answer = realAnswer("ifeval-qwen2.5-0.5b", "*** I'm on vacation, I'm on vacation").text;
    // The answer is "*** ", then "I'm on vacation, " 409 times, then a last "I'm".
    assert.equal(answer, `*** ${"I'm on vacation, ".repeat(409)}I'm`);
    const m = await measure("", answer, { tokenizer: SMOLLM2 });
    // Words (letters and digits, "i'm" one word; "***" none): 409 × 3 + 1 = 1,228. The run:
    // "i'm on vacation" × 409 = 1,227 words. rep-4: 1,225 four-grams, only 3 distinct (period 3).
    assert.equal(m.loop_repeats, 409);
    assert.equal(m.loop_share, 1227 / 1228);
    assert.equal(m.repetition, 1 - 3 / 1225);
    // Whitespace words (Python's str.split): "***" + 409 × 3 + "I'm" = 1,229. Code points (ASCII):
    // 4 + 409 × 17 + 3 = 6,960.
    assert.equal(m.length_words, 1229);
    assert.equal(m.length_chars, 6960);
    // SmolLM2's byte-level BPE pre-splits "*** I'm on vacation, I'm …" (GPT-2's pattern) into
    // "***", then per phrase " I", "'m", " on", " vacation", ",", and the last " I", "'m": each of
    // those pieces is one vocabulary entry (checked below), so 1 + 409 × 5 + 2 = 2,048 tokens.
    const vocab = (JSON.parse(readFileSync(`${SMOLLM2}/tokenizer.json`, "utf8")) as { model: { vocab: Record<string, number> } }).model.vocab;
    for (const piece of ["***", "ĠI", "'m", "Ġon", "Ġvacation", ","]) assert.ok(vocab[piece] !== undefined, piece);
    assert.equal(m.length_tokens, 2048);
  });

  it("shares a loop of a script without spaces among the same tokens (at most 1)", async () => {
    // Thai has no spaces between words: the loop rule counts its characters. 36 runs of one line
    // covered 2.06 "words" of this answer when the share divided by words.
    const thai = realAnswer("ifeval-qwen2.5-0.5b", 'Here\'s a riddle for "สเปรดชีต"').text;
    const m = await measure("", thai);
    assert.equal(m.answer_lang, "th");
    assert.ok((m.loop_repeats as number) >= 30);
    assert.ok((m.loop_share as number) > 0.9 && (m.loop_share as number) <= 1, String(m.loop_share));
  });

  it("scores the copy of the prompt: all, half, none", async () => {
    const prompt = "What is the capital of Finland?";
    // The answer is the prompt: its 4 three-grams are all the prompt's.
    assert.equal((await measure(prompt, "What is the capital of Finland?")).prompt_copy, 1);
    // "the capital of finland is helsinki": 4 three-grams, 2 of them ("the capital of", "capital of
    // finland") in the prompt — case and punctuation do not count.
    assert.equal((await measure(prompt, "The capital of Finland is Helsinki.")).prompt_copy, 2 / 4);
    // The prompt's first seven words, then five of its own: 12 words, 10 three-grams, the 5 within
    // the first seven words copied.
    const long = "Please list three lakes in Finland and say how deep each lake is";
    assert.equal((await measure(long, "please list three lakes in Finland and Saimaa Päijänne Inari are deep")).prompt_copy, 5 / 10);
    // No three-gram of the prompt; and an answer of fewer than 3 words has none to compare.
    assert.equal((await measure(prompt, "Helsinki lies by the sea.")).prompt_copy, 0);
    assert.equal((await measure(prompt, "Helsinki.")).prompt_copy, 0);
  });

  it("scores the copy of the prompt on real GPT-4o answers told to repeat the request", async () => {
    // The answer is the request, word for word, as the prompt asked: every three-gram is copied.
    const corgi = realAnswer("ifeval-gpt-4o", "Write a song about a corgi named Chester");
    assert.ok(corgi.prompt.includes(corgi.text));
    assert.equal((await measure(corgi.prompt, corgi.text)).prompt_copy, 1);
    // The 19-word request (in the prompt) and then "<<Shadow>>": 20 words, 18 three-grams, all but
    // "angular brackets shadow" copied → 17/18.
    const dog = realAnswer("ifeval-gpt-4o", "Write a good name for a black dog.");
    const request = "Write a good name for a black dog. Your answer must contain a title, wrapped in double angular brackets.";
    assert.equal(dog.text, `${request}\n\n<<Shadow>>`);
    assert.ok(dog.prompt.includes(request));
    const m = await measure(dog.prompt, dog.text);
    assert.equal(m.length_words, 20);
    assert.equal(m.prompt_copy, 17 / 18);
  });

  it("counts words as Python's str.split and characters as code points", async () => {
    // "  Hyvää<NBSP>päivää,<TAB>maailma! 👋\n": str.split() also splits at the no-break space →
    // Hyvää / päivää, / maailma! / 👋 = 4 words. Code points: 2 + 5 + 1 + 7 + 1 + 8 + 1 + 1 + 1 = 27
    // (the emoji is one code point, two UTF-16 units).
    const text = "  Hyv\u00e4\u00e4\u00a0p\u00e4iv\u00e4\u00e4,\tmaailma! \u{1f44b}\n";
    const m = await measure("", text);
    assert.equal(m.length_words, 4);
    assert.equal(m.length_chars, 27);
    assert.equal(m.length_tokens, null); // no tokenizer given
  });

  it("tells the answer's language on real Finnish and English answers, and whether it is the target", async () => {
    // Dolly record 0 (Walmart and Volt Systems) in English and in TurkuNLP's Finnish.
    const english = realAnswer("dolly-en", "Walmart acquired Volt Systems");
    const finnish = realAnswer("dolly-fi", "Walmart osti Volt Systemsin");
    const en = await measure(english.prompt, english.text, { lang: "fi" });
    const fi = await measure(finnish.prompt, finnish.text, { lang: "fi" });
    assert.deepEqual([en.answer_lang, en.in_target_lang], ["en", 0]);
    assert.deepEqual([fi.answer_lang, fi.in_target_lang], ["fi", 1]);
    // Without --lang there is no target; an empty answer has no language.
    assert.equal((await measure("", finnish.text)).in_target_lang, null);
    const empty = await measure("Kerro jotain.", "", { lang: "fi" });
    assert.deepEqual([empty.answer_lang, empty.in_target_lang, empty.length_words, empty.repetition], [null, 0, 0, 0]);
  });
});
