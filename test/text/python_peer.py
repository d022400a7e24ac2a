"""Peer for src/text/python-str.ts: CPython's own answers.

stdin:  {"strings": ["...", ...], "separators": [",", ...], "words": [...], "candidates": [...]}
stdout: {"python": "3.11.7", "unicode": "14.0.0",
         "classes": {name: [[first, last], ...]}  # code-point ranges, assigned code points only
         "strings": [{"strip": ..., "lstrip": ..., "rstrip": ..., "split": [...],
                      "split_sep": {sep: [...]}, "split_max1": [...], "strip_chars": ...,
                      "isupper": ..., "islower": ..., "isalpha": ..., "isdigit": ..., "len": ...,
                      "boundaries": [...]}],
         "caseless": [[re.fullmatch("(?i)" + re.escape(word), candidate) is not None, ...], ...]}
"""
import json
import platform
import re
import sys
import unicodedata

WORD = re.compile(r"\w")
DIGIT = re.compile(r"\d")
SPACE = re.compile(r"\s")
BOUNDARY = re.compile(r"\b")

PREDICATES = {
    "isupper": str.isupper,
    "islower": str.islower,
    "isalpha": str.isalpha,
    "isdigit": str.isdigit,
    "isspace": str.isspace,
    "w": lambda c: WORD.match(c) is not None,
    "d": lambda c: DIGIT.match(c) is not None,
    "s": lambda c: SPACE.match(c) is not None,
}


def ranges(code_points):
    out = []
    for cp in code_points:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def main():
    request = json.load(sys.stdin)
    assigned = [cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) != "Cn"]
    classes = {"assigned": ranges(assigned)}
    for name, predicate in PREDICATES.items():
        classes[name] = ranges(cp for cp in assigned if predicate(chr(cp)))
    strings = []
    for s in request["strings"]:
        strings.append({
            "strip": s.strip(), "lstrip": s.lstrip(), "rstrip": s.rstrip(),
            "strip_chars": s.strip("*. x"),
            "split": s.split(), "split_max1": s.split(None, 1),
            "split_sep": {sep: s.split(sep) for sep in request["separators"]},
            "isupper": s.isupper(), "islower": s.islower(), "isalpha": s.isalpha(), "isdigit": s.isdigit(),
            "len": len(s),
            "boundaries": [m.start() for m in BOUNDARY.finditer(s)],
        })
    caseless = [
        [re.fullmatch("(?i)" + re.escape(word), candidate) is not None for candidate in request["candidates"]]
        for word in request["words"]
    ]
    json.dump({"python": platform.python_version(), "unicode": unicodedata.unidata_version,
               "classes": classes, "strings": strings, "caseless": caseless}, sys.stdout)


if __name__ == "__main__":
    main()
