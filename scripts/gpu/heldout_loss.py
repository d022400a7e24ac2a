"""Held-out loss of several models on the same compiled tokens, for scripts/gpu/real-model.sh.

    python3 scripts/gpu/heldout_loss.py --data JOB/data/eval [--device cuda] [--dtype bf16] \
        base=MODEL_DIR sft-lora=MODEL_DIR+ADAPTER_DIR sft-full=MODEL_DIR …

The data is a compiled folder (docs/formats.md §2: tokens.bin, trained.bin, docs.bin), read here
with numpy, not with the engine, so the "before" number (a model that was never trained, hence has no
`eval` event) is computed exactly as the "after" numbers are. The loss is the engine's eval loss:
the sum of −log p(token | tokens before it) over every trained token, divided by their count
(token-weighted over the whole set). Prints one JSON object {name: {"loss", "tokens", "documents"}}.
"""

from __future__ import annotations

import argparse
import json
import os
from itertools import pairwise

import numpy as np
import torch


def read_documents(folder: str) -> list[tuple[np.ndarray, np.ndarray]]:
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    if manifest.get("kind") != "sft" or manifest.get("packing"):
        raise SystemExit(f"{folder}: expected unpacked SFT data, the manifest says kind {manifest.get('kind')!r}, packing {manifest.get('packing')!r}")
    tokens = np.fromfile(os.path.join(folder, "tokens.bin"), dtype=np.uint32)
    trained = np.fromfile(os.path.join(folder, "trained.bin"), dtype=np.uint8)
    offsets = np.fromfile(os.path.join(folder, "docs.bin"), dtype=np.int64)
    return [(tokens[a:b].astype(np.int64), trained[a:b]) for a, b in pairwise(offsets.tolist())]


def load(spec: str, device: str, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM

    model_dir, _, adapter = spec.partition("+")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return model.to(device).eval()


def heldout_loss(model, documents, device: str, batch_size: int) -> tuple[float, int]:
    total, count = 0.0, 0
    order = sorted(range(len(documents)), key=lambda i: len(documents[i][0]))
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = [documents[i] for i in order[start : start + batch_size]]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            targets = torch.zeros((len(batch), width), dtype=torch.bool)
            for row, (doc_ids, doc_trained) in enumerate(batch):
                ids[row, : len(doc_ids)] = torch.from_numpy(doc_ids)
                mask[row, : len(doc_ids)] = 1
                targets[row, : len(doc_ids)] = torch.from_numpy(doc_trained.astype(bool))
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            # Position t predicts token t+1; a token is a target when it is trained.
            logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
            picked = logprobs.gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1)
            chosen = targets[:, 1:].to(device)
            total += float(-(picked * chosen).sum())
            count += int(chosen.sum())
    return total / max(1, count), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a compiled SFT folder (e.g. JOB/data/eval)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("models", nargs="+", help="NAME=MODEL_DIR or NAME=MODEL_DIR+ADAPTER_DIR")
    args = parser.parse_args()
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    documents = read_documents(args.data)
    out = {}
    for item in args.models:
        name, _, spec = item.partition("=")
        model = load(spec, args.device, dtype)
        loss, tokens = heldout_loss(model, documents, args.device, args.batch_size)
        out[name] = {"loss": loss, "tokens": tokens, "documents": len(documents)}
        del model
    print(json.dumps(out))


if __name__ == "__main__":
    main()
