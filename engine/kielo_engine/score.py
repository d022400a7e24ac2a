"""Scoring texts with Hugging Face encoders: `python -m kielo_engine score --task classify|embed …`.

TypeScript tokenises the texts with the model's own tokenizer.json (special tokens included,
truncated to the model's length) and sends token ids; the engine only runs the model, in batches
(longest first, right-padded with an attention mask), and writes one result per request:

- `classify`: `AutoModelForSequenceClassification`; `{key, probs: {label: p}}` with the labels of
  the model's `config.id2label` — softmax over the classes, or a sigmoid per class when the config
  says `problem_type: multi_label_classification`.
- `embed`: `AutoModel`; `{key, embedding: [...]}`, the last hidden state mean-pooled over the
  attention mask and L2-normalised (so a dot product of two is their cosine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import transformers

from .errors import EngineError
from .generate import emit
from .modeling import check_architecture, check_model_folder, torch_dtype
from .outputs import atomic_write_jsonl


def read_requests(path: str) -> list[dict]:
    requests: list[dict] = []
    try:
        handle = open(path, encoding="utf-8")
    except OSError as err:
        raise EngineError("bad-job", f"cannot read {path}: {err.strerror}", None) from err
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            ids = row.get("ids")
            if not isinstance(row.get("key"), str) or not isinstance(ids, list) or not ids:
                raise EngineError("bad-job", f"{path}:{number}: expected {{key: str, ids: [int, …]}}", None)
            requests.append({"key": row["key"], "ids": [int(t) for t in ids]})
    return requests


def load(task: str, path: str, dtype: str, device: str) -> transformers.PreTrainedModel:
    check_model_folder(path)
    check_architecture(path, False)
    auto = transformers.AutoModelForSequenceClassification if task == "classify" else transformers.AutoModel
    try:
        model = auto.from_pretrained(path, dtype=torch_dtype(dtype), local_files_only=True, use_safetensors=True)
    except (ValueError, OSError, KeyError) as err:
        raise EngineError("model-not-found", f"could not load {path} for {task}: {str(err).splitlines()[0]}", None) from err
    return model.to(device).eval()


def batches(requests: list[dict], batch_size: int):
    order = sorted(range(len(requests)), key=lambda i: -len(requests[i]["ids"]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


@torch.no_grad()
def score(model, task: str, requests: list[dict], batch_size: int, pad_id: int, on_progress=None) -> list[dict]:
    device = next(model.parameters()).device
    results: list[dict | None] = [None] * len(requests)
    done = 0
    for batch in batches(requests, batch_size):
        width = max(len(requests[i]["ids"]) for i in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            tokens = requests[i]["ids"]
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
        ids, mask = ids.to(device), mask.to(device)
        if task == "classify":
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
            multi = getattr(model.config, "problem_type", None) == "multi_label_classification"
            probs = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
            labels = [model.config.id2label[j] for j in range(probs.shape[-1])]
            for row, i in enumerate(batch):
                results[i] = {"key": requests[i]["key"], "probs": dict(zip(labels, probs[row].tolist()))}
        else:
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            weights = mask.unsqueeze(-1).float()
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            for row, i in enumerate(batch):
                results[i] = {"key": requests[i]["key"], "embedding": pooled[row].tolist()}
        done += len(batch)
        if on_progress:
            on_progress(done, len(requests))
    return [r for r in results if r is not None]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kielo_engine score", description=__doc__.split("\n")[0])
    parser.add_argument("--task", required=True, choices=["classify", "embed"])
    parser.add_argument("--model", required=True, help="model folder (Hugging Face format, safetensors)")
    parser.add_argument("--input", required=True, help="requests JSONL: {key, ids}")
    parser.add_argument("--output", required=True, help="results JSONL")
    parser.add_argument("--dtype", default="fp32", choices=["bf16", "fp16", "fp32"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pad-id", type=int, default=0, help="token id used to pad (masked out)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        requests = read_requests(args.input)
        model = load(args.task, args.model, args.dtype, device)
        if args.task == "classify" and getattr(model.config, "pad_token_id", None) is None:
            # Sequence classifiers of decoder models pool the last non-pad token and need to know the pad id.
            model.config.pad_token_id = args.pad_id
        started = time.time()
        results = score(model, args.task, requests, args.batch_size, args.pad_id,
                        on_progress=lambda done, total: emit({"type": "progress", "done": done, "total": total}))
        atomic_write_jsonl(args.output, results)
        emit({"type": "done", "output": args.output, "requests": len(results), "seconds": time.time() - started})
        return 0
    except EngineError as err:
        emit({"type": "error", "kind": err.kind, "message": err.message, "hint": err.hint})
        sys.stderr.write(f"error: {err.message}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
