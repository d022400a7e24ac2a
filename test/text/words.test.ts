import assert from "node:assert/strict";
import { test } from "node:test";
import { longestRepeatRun, loopTokens, words } from "../../src/text/words.ts";

test("a word keeps its combining vowel signs (Devanagari matras), its digits and an inner apostrophe", () => {
  // A Hindi sentence from the Hindi gettext translations the cleaning benchmark reads: split at each
  // vowel sign (a mark, not a letter), "जरूरी" became "जर", "र", … and every word count was wrong.
  assert.deepEqual(words("यह नया फ़ाइल ज़रूरी है।"), ["यह", "नया", "फ़ाइल", "ज़रूरी", "है"]);
  assert.deepEqual(words("Don’t use l'homme 42 times."), ["don’t", "use", "l'homme", "42", "times"]);
});

test("a loop is counted in words, and by character in scripts written without spaces", () => {
  assert.deepEqual(loopTokens("はいはい yes"), ["は", "い", "は", "い", "yes"]);
  const hindi = longestRepeatRun("मुझे नहीं पता। मुझे नहीं पता। मुझे नहीं पता।");
  assert.deepEqual({ repeats: hindi.repeats, runWords: hindi.runWords }, { repeats: 3, runWords: 9 });
});
