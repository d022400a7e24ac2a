"""Reference side of the langid peer tests: Python langdetect 1.0.9 and CPython's `random`.

Reads one JSON request on stdin and writes one JSON answer on stdout.

  {"mode": "detect", "texts": [...], "order": [...]}
      langdetect with DetectorFactory.seed = 0. `order` is the profile order the port uses; the
      reference factory is loaded normally (os.listdir order) and, only if that order differs, is
      rebuilt from the same profile files in `order` (reported as "forced_order").
  {"mode": "normalize"}
      NGram.normalize and str.isupper over every code point (surrogates excluded).
  {"mode": "random", "seeds": [...]}
      CPython random.Random streams for the MT19937 port.
"""
import json
import os
import sys
import random

import langdetect
from langdetect import DetectorFactory, LangDetectException
from langdetect import detector_factory
from langdetect.utils.ngram import NGram


def run_detect(request):
    DetectorFactory.seed = 0
    detector_factory.init_factory()
    factory = detector_factory._factory
    listdir_order = list(factory.langlist)
    order = request["order"]
    forced = listdir_order != order
    if forced:
        rebuilt = DetectorFactory()
        profiles = []
        for name in order:
            with open(os.path.join(detector_factory.PROFILES_DIRECTORY, name), encoding="utf-8") as f:
                profiles.append(f.read())
        rebuilt.load_json_profile(profiles)
        detector_factory._factory = rebuilt
    results = []
    factory = detector_factory._factory
    for text in request["texts"]:
        try:
            # The bodies of langdetect.detect_langs(text) and langdetect.detect(text), sharing one
            # detector: detect() reuses the probabilities it computed (half the time, same values).
            detector = factory.create()
            detector.append(text)
            langs = [[l.lang, l.prob] for l in detector.get_probabilities()]
            lang = detector.detect()
            results.append({"detect": lang, "langs": langs, "error": None})
        except LangDetectException as e:
            results.append({"detect": None, "langs": None, "error": str(e), "code": e.get_code()})
    return {
        "version": langdetect.__version__ if hasattr(langdetect, "__version__") else None,
        "python": sys.version,
        "listdir_order": listdir_order,
        "forced_order": forced,
        "results": results,
    }


def run_normalize(_request):
    changed = []
    upper = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        out = NGram.normalize(ch)
        if out != ch:
            changed.append([cp, ord(out)])
        if ch.isupper():
            upper.append(cp)
    return {"changed": changed, "upper": upper}


def run_random(request):
    streams = []
    for seed in request["seeds"]:
        # Seeds travel as decimal strings: JSON numbers cannot carry ints above 2**53.
        r = random.Random(int(seed))
        stream = {"seed": seed}
        stream["random"] = [r.random() for _ in range(20)]
        stream["getrandbits"] = [[k, str(r.getrandbits(k))] for k in (1, 5, 8, 31, 32, 33, 53, 64, 100)]
        stream["randbelow"] = [[n, r._randbelow(n)] for n in (1, 2, 3, 7, 10, 100, 1000, 2**31 - 1, 2**31, 2**32, 2**32 + 1, 10**12)]
        stream["choice"] = [[n, r.choice(range(n))] for n in (1, 2, 5, 17, 64, 65, 1000, 123457)]
        stream["gauss"] = [r.gauss(0.0, 1.0) for _ in range(9)]
        stream["gauss_shifted"] = [r.gauss(2.5, 0.5) for _ in range(3)]
        stream["after"] = r.random()
        streams.append(stream)
    # seed() clears the cached gauss value: one gauss, reseed, one gauss.
    r = random.Random(0)
    first = r.gauss(0.0, 1.0)
    r.seed(0)
    again = r.gauss(0.0, 1.0)
    return {"streams": streams, "reseed": [first, again]}


def main():
    request = json.load(sys.stdin)
    mode = request["mode"]
    handler = {"detect": run_detect, "normalize": run_normalize, "random": run_random}[mode]
    json.dump(handler(request), sys.stdout)


if __name__ == "__main__":
    main()
