"""Held-out loss of several models on the same compiled tokens, for scripts/gpu/real-model.sh.

    python3 scripts/gpu/heldout_loss.py --data JOB/data/eval [--device cuda] [--dtype bf16] \
        base=MODEL_DIR sft-lora=MODEL_DIR+ADAPTER_DIR sft-full=MODEL_DIR …

The data is a compiled folder (docs/formats.md §2). Each model is loaded once and scored by the
engine's `kielo_engine.heldout` (what `kielo eval loss` runs), so the "before" number of a model that
was never trained (hence has no `eval` event) is computed exactly as the "after" numbers are: the sum
of −log p(token | tokens before it) over every trained token, divided by their count. Prints one JSON
object {name: {"loss", "tokens", "documents"}}. Needs the engine on PYTHONPATH (real-model.sh sets it).
"""

from __future__ import annotations

import argparse
import json

import torch
from kielo_engine.data import CompiledData
from kielo_engine.heldout import documents, heldout_loss
from kielo_engine.lora import load_adapter
from kielo_engine.modeling import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a compiled SFT folder (e.g. JOB/data/eval)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("models", nargs="+", help="NAME=MODEL_DIR or NAME=MODEL_DIR+ADAPTER_DIR")
    args = parser.parse_args()
    data = CompiledData(args.data)
    docs = documents(data)
    out = {}
    for item in args.models:
        name, _, spec = item.partition("=")
        model_dir, _, adapter = spec.partition("+")
        model = load_model(model_dir, args.dtype, device=args.device)
        if adapter:
            model = load_adapter(model, adapter, trainable=False)
        total, tokens = heldout_loss(model.eval(), docs, args.batch_size, data.pad_token_id)
        out[name] = {"loss": total / max(1, tokens), "tokens": tokens, "documents": len(docs)}
        del model
    print(json.dumps(out))


if __name__ == "__main__":
    main()
