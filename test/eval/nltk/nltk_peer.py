"""Peer for the TypeScript Punkt / word_tokenize port: the real nltk, run on batches of texts.

stdin:  {"requests": [{"language": "english", "texts": ["...", ...]}, ...]}
stdout: {"nltk": "3.9.1", "results": [{"punkt_dir": "...", "sentences": [[...], ...],
                                       "tokens": [[...], ...]}, ...]}

`sentences` is `PunktTokenizer(language).tokenize(text)` (what IFEval's `count_sentences` and
`sent_tokenize` use), `tokens` is `word_tokenize(text, language)`. Run it with NLTK_DATA set to
kielo's resources/nltk_data so that nltk loads exactly the parameter files the TypeScript port
loads; it exits with an error when nltk would find them anywhere else.
"""
import json
import os
import sys

import nltk
from nltk.tokenize import PunktTokenizer, word_tokenize


def run(language, texts):
    punkt_dir = str(nltk.data.find(f"tokenizers/punkt_tab/{language}/"))
    expected_root = os.path.realpath(os.environ["NLTK_DATA"])
    if not os.path.realpath(punkt_dir).startswith(expected_root + os.sep):
        raise SystemExit(f"nltk found {punkt_dir}, not under NLTK_DATA={expected_root}")
    tokenizer = PunktTokenizer(language)
    return {
        "punkt_dir": punkt_dir,
        "sentences": [tokenizer.tokenize(t) for t in texts],
        "tokens": [word_tokenize(t, language=language) for t in texts],
    }


def main():
    request = json.load(sys.stdin)
    results = [run(r["language"], r["texts"]) for r in request["requests"]]
    json.dump({"nltk": nltk.__version__, "results": results}, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
