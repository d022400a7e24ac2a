"""Reference token ids and assistant masks from Python transformers' apply_chat_template.

Run by test/chat/parity.test.ts as a peer: reads a JSON list of cases from the file named by argv[1],
prints {case name: [{"ids": [...], "mask": [...] | null, "prompt_ids": [...] | null}]} as JSON.
Each case: {"name", "tokenizer": dir, "template": str | null (null: the tokenizer's own),
"conversations": [[{"role", "content"}]], "mask": bool (ask for return_assistant_tokens_mask)}.
A tokenizer folder holding tokenizer.json.gz is decompressed to a temporary folder first.
"""
import gzip
import json
import os
import shutil
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from transformers import AutoTokenizer  # noqa: E402


def load(folder, scratch):
    if os.path.exists(os.path.join(folder, "tokenizer.json.gz")):
        target = tempfile.mkdtemp(dir=scratch)
        for name in os.listdir(folder):
            src = os.path.join(folder, name)
            if name == "tokenizer.json.gz":
                with gzip.open(src) as f, open(os.path.join(target, "tokenizer.json"), "wb") as g:
                    shutil.copyfileobj(f, g)
            else:
                shutil.copy(src, target)
        folder = target
    return AutoTokenizer.from_pretrained(folder)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    out = {}
    cache = {}
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            tok = cache.get(case["tokenizer"])
            if tok is None:
                tok = cache[case["tokenizer"]] = load(case["tokenizer"], scratch)
            results = []
            for conversation in case["conversations"]:
                kwargs = {"chat_template": case["template"]} if case["template"] is not None else {}
                if case.get("mask"):
                    enc = tok.apply_chat_template(conversation, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, **kwargs)
                    ids, mask = list(enc["input_ids"]), list(enc["assistant_masks"])
                else:
                    ids = tok.apply_chat_template(conversation, tokenize=True, return_dict=True, **kwargs)["input_ids"]
                    mask = None
                prompt_ids = None
                if conversation[-1]["role"] == "assistant":
                    prompt_ids = tok.apply_chat_template(conversation[:-1], tokenize=True, return_dict=True, add_generation_prompt=True, **kwargs)["input_ids"]
                results.append({"ids": list(ids), "mask": mask, "prompt_ids": list(prompt_ids) if prompt_ids is not None else None})
            out[case["name"]] = results
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
