"""The reference IFEval scorer (lm-eval 0.4.13, `lm_eval/tasks/ifeval`) as a peer for kielo's tests.

Reads {"cases": [{"instruction_id_list", "kwargs", "prompt", "response"}, ...]} as JSON on stdin
and writes [{"strict": [bool], "loose": [bool]}, ...] as JSON on stdout, one entry per case.

Offline and deterministic:
- the ifeval modules are imported by path under stub parent packages, so lm-eval's heavy
  `lm_eval/__init__` (which needs packages installed with --no-deps missing) never runs;
- NLTK_DATA points at kielo's `resources/nltk_data` (the Punkt English `punkt_tab` files) and
  `nltk.download` is a no-op, so nothing is fetched;
- langdetect is seeded with 0, as the newest reference does.
Newest reference semantics for letter_frequency: the letter is counted literally (`#`, `!`) and an
invalid letter raises; lm-eval 0.4.13 still swaps a letter outside a-z for a random one, so that
one method is replaced here (and only that one).
"""

import importlib.util
import json
import logging
import os
import sys
import types

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
os.environ["NLTK_DATA"] = os.path.join(REPO, "resources", "nltk_data")

import nltk  # noqa: E402

nltk.download = lambda *args, **kwargs: True
nltk.data.path[:0] = [os.environ["NLTK_DATA"]]

from langdetect import DetectorFactory  # noqa: E402

DetectorFactory.seed = 0
logging.disable(logging.CRITICAL)


def _load_ifeval_package():
    spec = importlib.util.find_spec("lm_eval")
    root = spec.submodule_search_locations[0]
    for name, path in (
        ("lm_eval", root),
        ("lm_eval.tasks", os.path.join(root, "tasks")),
        ("lm_eval.tasks.ifeval", os.path.join(root, "tasks", "ifeval")),
    ):
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    import lm_eval.tasks.ifeval.instructions as instructions  # noqa: E402
    import lm_eval.tasks.ifeval.utils as utils  # noqa: E402

    return instructions, utils


instructions, utils = _load_ifeval_package()
_original_letter_build = instructions.LetterFrequencyChecker.build_description


def _letter_build_newest(self, *, letter=None, let_frequency=None, let_relation=None):
    if not isinstance(letter, str) or len(letter.strip()) != 1:
        raise ValueError(f"letter must be a single character, got {letter!r}")
    # Build with a placeholder a-z letter (the random branch is not taken), then set the real one.
    description = _original_letter_build(self, letter="a", let_frequency=let_frequency, let_relation=let_relation)
    self._letter = letter.strip().lower()
    return description


instructions.LetterFrequencyChecker.build_description = _letter_build_newest


def main():
    request = json.load(sys.stdin)
    out = []
    for case in request["cases"]:
        inp = utils.InputExample(
            key=case.get("key", 0),
            instruction_id_list=case["instruction_id_list"],
            prompt=case["prompt"],
            kwargs=case["kwargs"],
        )
        strict = utils.test_instruction_following_strict(inp, case["response"])
        loose = utils.test_instruction_following_loose(inp, case["response"])
        out.append({"strict": strict.follow_instruction_list, "loose": loose.follow_instruction_list})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
