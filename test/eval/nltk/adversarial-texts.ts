// Hand-written hard cases for Punkt and word_tokenize, and a seeded generator of random texts
// built from the pieces those tokenizers treat specially. Both are checked against nltk.

export const ADVERSARIAL_TEXTS: readonly string[] = [
  "", " ", "\n", "\r\n", ".", "...", "Hello", "Hello.", "Hello. ", "  Hello.  World.  ",
  "Mr. Smith went to Washington. He arrived on Jan. 3rd.",
  "The U.S. economy grew. The U.K. did not.",
  "U.S.A. is big. So is the U.S.S.R.",
  "J. R. R. Tolkien wrote it. It sold well.",
  "A. B. C. D.", "a. b. c.", "Mixed: A.B. c.D. e.F.",
  "See p. 5. Then stop.", "It costs $3.50. That is cheap.", "It was 5 p.m. We left.",
  "He left at 3 a.m. Then slept.", "Version 2.0. Next line.", "He scored 12. She scored 13.",
  "No. 5 is here. no. 6 is not.", "Go to St. Paul. Call Dr. Who.", "e.g. this. i.e. that. etc. and so on.",
  "Fig. 3 shows it. Eq. 2 too.", "P.S. I love you. P.P.S. Me too.",
  "Numbers: 1,000,000 and 3.14159 and -2.5.", ".5 and -.5 and 1.2.3. Next.",
  "Wait... What? Really!", "Wait . . . what?", "ellipsis.... four.", "What?! No!! Yes?!?",
  "He said \"Stop.\" Then he left.", "(Sentence one.) Sentence two.", "\"(And this one.)\" Next.",
  "[(and this. )] x", "The end.\" Next.", "The end.' Next.", "The end.) Next.", "The end.] Next.", "The end.} Next.",
  "'Hello,' she said. 'Bye.'", "'quoted' 'x 'y' z'", "O'Neil's dog. rock 'n' roll.",
  "``Quoted'' text and ‘single’ “double” «guillemets» „low“.",
  "I DON'T know. YOU CANNOT go. We're gonna win. I wanna go. Gimme that. Lemme see. Gotta run.",
  "'Tis the season. 'Twas the night. d'ye see? more'n that.",
  "He can't, won't and shouldn't. They'll've gone. I'd've. It's Bob's. THEY'LL GO. WE'RE HERE. I'M. HE'S. SHE'D.",
  // Python's (?i) equates i with İ and ı (JS /iu does not); s with ſ; k with the Kelvin sign.
  "gımme that. 'tıs true. GİMME that. CANNOT. cannot. Cannot. ſo gonnA. wanNa go.",
  "Line one.\r\nLine two.\rLine three.\n\nPara two.",
  "trailing spaces.   \n\n  ", "\tTabbed. \vVertical.\fForm.",
  // Python whitespace that JS \s lacks (\x1c-\x1f, \x85) and JS whitespace Python lacks (\ufeff).
  "Done.\u00a0Next one.\u2028Third.\x1cFourth.\x85Fifth.\ufeffSixth. \ufeffSeventh.",
  "Ääni. Öljy on kallista. Älä mene.", "Tämä on esim. hyvä. Se maksaa n. 5 euroa.",
  "x\u0345y. Z\u0345. ǅa. ǅ.", "Ⅻ. ⅫA. ². ① two. ٣. Next.",
  "😀 Emoji sentence. 𝐀𝐁𝐂. 𝐀. Next. 中文句子。Next.", "Lone \ud800 surrogate. Next.",
  "E-mail: a@b.com. Hashtag #tag. 50% off & more; yes.",
  "Ends with comma, and colon: and semicolon;", "<b>bold</b>. {x}. [y]. (z).", "*emphasis*. **bold**.",
  "He yelled -- loudly -- at them.--Yes.", "A -- B. C--D.",
  "Punkt knows that the periods in Mr. Smith and Johann S. Bach\ndo not mark sentence boundaries.  And sometimes sentences\ncan start with non-capitalized words.  i is a good variable\nname.",
  "(How does it deal with this parenthesis?)  \"It should be part of the\nprevious sentence.\" \"(And the same with this one.)\" ('And this one!')\n\"('(And (this)) '?)\" [(and this. )]",
];

/** The pieces random texts are made of: abbreviations, numbers, quotes, brackets, odd spaces… */
const PIECES: readonly string[] = [
  "a", "b", "X", "Mr", "U.S", "Jan", "e.g", "etc", "can", "not", "CANNOT", "gonna", "wanna", "'t", "is", "was",
  "DON'T", "n't", "'s", "'ll", "'re", "'ve", "'m", "'d", "J", "3", "12", "1,000", "3.5", "-", "--", "---", ".",
  "..", "...", ". . .", "?", "!", ",", ":", ";", "\"", "''", "``", "`", "'", "(", ")", "[", "]", "{", "}", "<",
  ">", "«", "»", "“", "”", "‘", "’", "„", "*", "@", "#", "$", "%", "&", "/", " ", " ", " ", "  ", "\n", "\n\n",
  "\r\n", "\r", "\t", "\u00a0", "\x1c", "\x85", "\u2028", "\u3000", "\ufeff", "\u200b", "İ", "ı", "ſ", "\u0345",
  "é", "Ä", "ö", "ǅ", "ß", "ﬁ", "²", "①", "٣", "Ⅻ", "𝐀", "😀", "中", "The", "He", "I", "i", "the", "said", "_",
  "x_y", "Dr", "St", "No", "vs", "Inc", "Co", "Corp", "Ltd", "Prof", "Gen", "P.S", "p.m", "a.m", "Fig", "ca",
];

/** mulberry32: a small seeded generator, so the random texts are the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` texts of 1–`maxPieces` random pieces, concatenated without separators. */
export function randomTexts(seed: number, count: number, maxPieces: number): string[] {
  const random = mulberry32(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const pieces = 1 + Math.floor(random() * maxPieces);
    let text = "";
    for (let j = 0; j < pieces; j++) text += PIECES[Math.floor(random() * PIECES.length)];
    texts.push(text);
  }
  return texts;
}
