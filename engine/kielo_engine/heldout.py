"""Held-out loss of a causal LM, or a base model with an adapter: `python -m kielo_engine heldout`.

The data is a compiled SFT folder (docs/formats.md §2) that TypeScript wrote from held-out records
with the training recipe's template, policy and length. The loss is the one a training run reports
as its eval loss: Σ −log p(token | the tokens before it) over every trained token, divided by their
count (token-weighted over the whole set). A study computes it this way for every model — the base,
each SFT and each DPO model — so that one column compares them all.

Ends with a `done` event: eval_loss, tokens (trained tokens counted), requests (documents).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from .data import CompiledData
from .errors import EngineError
from .events import print_event


def documents(data: CompiledData) -> list[tuple[np.ndarray, np.ndarray]]:
    if data.kind != "sft" or data.packed:
        raise EngineError("bad-job", f"{data.path}: expected unpacked SFT data (kind sft, no packing)", "compile the held-out records without --pack")
    offsets = data.docs.tolist()
    return [(np.asarray(data.tokens[a:b], dtype=np.int64), np.asarray(data.trained[a:b], dtype=bool)) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


@torch.no_grad()
def heldout_loss(model: torch.nn.Module, docs: list[tuple[np.ndarray, np.ndarray]], batch_size: int, pad_id: int, on_progress=None) -> tuple[float, int]:
    """(Σ NLL over trained tokens, their count). Documents are batched by length, right-padded."""
    device = next(model.parameters()).device
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    order = sorted(range(len(docs)), key=lambda i: len(docs[i][0]))
    for start in range(0, len(order), batch_size):
        batch = [docs[i] for i in order[start : start + batch_size]]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        trained = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, (doc_ids, doc_trained) in enumerate(batch):
            ids[row, : len(doc_ids)] = torch.from_numpy(doc_ids)
            mask[row, : len(doc_ids)] = 1
            trained[row, : len(doc_ids)] = torch.from_numpy(doc_trained)
        ids, mask, trained = ids.to(device), mask.to(device), trained.to(device)
        logits = model(input_ids=ids, attention_mask=mask).logits
        # Position t predicts token t+1, which counts when it is trained (as in training).
        targets = trained[:, 1:]
        logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        total -= (logprobs * targets).sum(dtype=torch.float64)
        count += int(targets.sum())
        if on_progress:
            on_progress(min(start + batch_size, len(docs)), len(docs))
    return float(total), count


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kielo_engine heldout", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model folder (Hugging Face format, safetensors)")
    parser.add_argument("--adapter", help="LoRA adapter folder to apply on the model")
    parser.add_argument("--data", required=True, help="compiled SFT folder of the held-out records")
    parser.add_argument("--dtype", default="fp32", choices=["bf16", "fp16", "fp32"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available)")
    parser.add_argument("--trust-remote-code", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from .lora import load_adapter
    from .modeling import load_model

    args = parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        data = CompiledData(args.data)
        docs = documents(data)
        model = load_model(args.model, args.dtype, device=device, trust_remote_code=args.trust_remote_code)
        if args.adapter:
            model = load_adapter(model, args.adapter, trainable=False)
        model.eval()
        started = time.time()
        total, count = heldout_loss(model, docs, args.batch_size, data.pad_token_id,
                                    on_progress=lambda done, all_: print_event({"type": "progress", "done": done, "total": all_}))
        if count == 0:
            raise EngineError("bad-job", f"{args.data}: no trained tokens to score", "the records' policy trains no token (are there assistant turns?)")
        print_event({"type": "done", "eval_loss": total / count, "tokens": count, "requests": len(docs), "seconds": time.time() - started})
        return 0
    except EngineError as err:
        print_event({"type": "error", "kind": err.kind, "message": err.message, "hint": err.hint})
        sys.stderr.write(f"error: {err.message}\n")
        return 1
