"""Which chat templates transformers' AutoTokenizer finds in a folder, and folders saved by transformers 5.

Run by test/chat/chat-template-files.test.ts as a peer. argv[1] names a JSON file
{"save": [[source_dir, target_dir], ...], "load": [dir, ...], "conversation": [{"role", "content"}]}:
each source tokenizer is loaded and written with `save_pretrained` (transformers 5 puts the chat
template in chat_template.jinja), then each folder of "load" is loaded with AutoTokenizer. Prints
{dir: {"chat_template": str | {name: str} | null, "ids": [...] | null}} as JSON; "ids" are
apply_chat_template(conversation, add_generation_prompt=True) when the folder has a default template.
"""
import importlib.util
import json
import os
import sys
import tempfile
import warnings

from transformers import AutoTokenizer
from transformers.utils import logging

warnings.filterwarnings("ignore")
logging.set_verbosity_error()
# The sibling reference script's folder loader (it decompresses tokenizer.json.gz).
_spec = importlib.util.spec_from_file_location("transformers_reference", os.path.join(os.path.dirname(os.path.abspath(__file__)), "transformers_reference.py"))
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)
load = _reference.load


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    with tempfile.TemporaryDirectory() as scratch:
        for source, target in spec["save"]:
            load(source, scratch).save_pretrained(target)
    out = {}
    for folder in spec["load"]:
        tok = AutoTokenizer.from_pretrained(folder)
        template = tok.chat_template
        ids = None
        if isinstance(template, str) or (isinstance(template, dict) and "default" in template):
            ids = list(tok.apply_chat_template(spec["conversation"], tokenize=True, return_dict=True, add_generation_prompt=True)["input_ids"])
        out[folder] = {"chat_template": template, "ids": ids}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
