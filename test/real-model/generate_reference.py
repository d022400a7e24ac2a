"""Greedy continuations from Python transformers, the reference for `kielo generate`.

Run by test/real-model/generate.test.ts as a peer: argv = model folder, prompts JSONL (rows with
`messages`), max new tokens. Each conversation is rendered with the folder's own chat template
(`apply_chat_template`, add_generation_prompt) and continued ALONE (no batch, no padding) with
`generate(do_sample=False)` in fp32 on the CPU, stopping at the generation config's EOS. Prints one
JSON list: {"prompt_ids", "output_ids" (up to, without, the EOS), "stopped", "text"} per row.
"""
import json
import sys
import warnings

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging

warnings.filterwarnings("ignore")
logging.set_verbosity_error()


def main():
    folder, prompts_path, max_new = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    eos = model.generation_config.eos_token_id
    stops = set(eos if isinstance(eos, list) else [eos])
    out = []
    with open(prompts_path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    for row in rows:
        ids = tokenizer.apply_chat_template(row["messages"], add_generation_prompt=True, return_dict=True)["input_ids"]
        with torch.no_grad():
            generated = model.generate(torch.tensor([ids]), max_new_tokens=max_new, do_sample=False)[0, len(ids):].tolist()
        cut = next((i for i, t in enumerate(generated) if t in stops), None)
        output = generated if cut is None else generated[:cut]
        out.append({
            "prompt_ids": list(ids),
            "output_ids": output,
            "stopped": cut is not None,
            "text": tokenizer.decode(output, skip_special_tokens=True),
        })
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
