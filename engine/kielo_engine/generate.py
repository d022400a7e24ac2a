"""Batched generation from already-tokenised prompts (docs/formats.md §4).

How it works: requests are sorted by prompt length, cut into batches, left-padded (decoder-only
models continue from the last position, so the padding goes on the left) and decoded with
transformers' `generate` and a KV cache; results come back in input order.

Sampling is seeded per request, not per batch: request i draws from its own torch.Generator
seeded with (seed, i), one uniform number per generated token, and picks the token by inverse CDF
over the temperature/top-p distribution. So a request's output does not depend on which other
requests share its batch or on the batch size. The draw happens in `PerRequestSampler`, a logits
processor that leaves only the drawn token finite; `generate` then runs in greedy mode, so none of
its own (globally seeded) samplers run. transformers' continuous batching (`generate_batch`)
exists in 5.x but samples from one global generator, which would break that guarantee.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from .errors import EngineError

SEED_STRIDE = 1_000_003  # a prime: (seed, index) pairs map to distinct generator seeds


def request_seed(seed: int, index: int) -> int:
    return (seed * SEED_STRIDE + index) % (2**63 - 1)


def top_p_filter(probs: Tensor, top_p: float) -> Tensor:
    """Keep the smallest set of most likely tokens whose mass reaches top_p (at least one), renormalised."""
    if top_p >= 1.0:
        return probs
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    filtered = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return filtered / filtered.sum(dim=-1, keepdim=True)


def sample_token(logits: Tensor, *, temperature: float, top_p: float, generator: torch.Generator) -> int:
    """One token from softmax(logits / T) restricted to the top-p set, by inverse CDF of one uniform draw."""
    probs = top_p_filter(torch.softmax(logits.float() / temperature, dim=-1), top_p)
    u = torch.rand((), generator=generator, dtype=torch.float64).item()
    cdf = probs.double().cumsum(dim=-1)
    index = int(torch.searchsorted(cdf, torch.tensor([u * float(cdf[-1])], dtype=torch.float64)).item())
    return min(index, probs.numel() - 1)


class PerRequestSampler:
    """A transformers logits processor: row r samples with generators[r] and keeps only that token."""

    def __init__(self, generators: list[torch.Generator], *, temperature: float, top_p: float):
        self.generators = generators
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: Tensor, scores: Tensor) -> Tensor:
        chosen = [
            sample_token(row, temperature=self.temperature, top_p=self.top_p, generator=generator)
            for row, generator in zip(scores, self.generators)
        ]
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(len(chosen)), torch.tensor(chosen, device=scores.device)] = 0.0
        return out


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def pad_token_for(model: nn.Module, stop_token_ids: list[int]) -> int:
    config = model.config
    pad = getattr(config, "pad_token_id", None)
    if pad is None:
        pad = getattr(model.generation_config, "pad_token_id", None)
    if pad is None:
        pad = stop_token_ids[0] if stop_token_ids else 0
    return int(pad)


def split_output(tokens: list[int], stop_token_ids: set[int]) -> tuple[list[int], str]:
    """Cut at the first stop token (excluded): the rest is padding `generate` appended."""
    for position, token in enumerate(tokens):
        if token in stop_token_ids:
            return tokens[:position], "stop"
    return tokens, "length"


def generate(
    model: nn.Module,
    requests: list[dict],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    batch_size: int,
    stop_token_ids: list[int],
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Continue each request's `prompt_ids`; returns `{key, output_ids, finish_reason}` in input order."""
    if max_new_tokens <= 0 or batch_size <= 0:
        raise EngineError("bad-job", "max_new_tokens and batch_size must be positive", None)
    if temperature < 0 or not 0.0 < top_p <= 1.0:
        raise EngineError("bad-job", f"temperature must be ≥ 0 and top_p in (0, 1], got {temperature}, {top_p}", None)
    device = model_device(model)
    pad = pad_token_for(model, stop_token_ids)
    stops = set(stop_token_ids)
    order = sorted(range(len(requests)), key=lambda i: (len(requests[i]["prompt_ids"]), i))
    results: list[dict | None] = [None] * len(requests)
    was_training = model.training
    model.eval()
    done = 0
    try:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            prompts = [list(requests[i]["prompt_ids"]) for i in batch]
            width = max(len(p) for p in prompts)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, prompt in enumerate(prompts):
                input_ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
                attention_mask[row, width - len(prompt) :] = 1
            processors = []
            if temperature > 0:
                generators = [torch.Generator().manual_seed(request_seed(seed, i)) for i in batch]
                processors.append(PerRequestSampler(generators, temperature=temperature, top_p=top_p))
            with torch.no_grad():
                output = model.generate(
                    input_ids=input_ids.to(device),
                    attention_mask=attention_mask.to(device),
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    num_beams=1,
                    # Set explicitly so that no model default (generation_config.json) adds processors.
                    repetition_penalty=1.0,
                    no_repeat_ngram_size=0,
                    min_new_tokens=0,
                    eos_token_id=sorted(stops) if stops else None,
                    pad_token_id=pad,
                    logits_processor=processors,
                )
            new_tokens = output[:, width:].tolist()
            for row, index in enumerate(batch):
                output_ids, reason = split_output(new_tokens[row], stops)
                results[index] = {"key": requests[index]["key"], "output_ids": output_ids, "finish_reason": reason}
            done += len(batch)
            if on_progress is not None:
                on_progress(done, len(requests))
    finally:
        model.train(was_training)
    return [r for r in results if r is not None]


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
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise EngineError("bad-job", f"{path}:{number}: not valid JSON ({err.msg})", None) from err
            if not isinstance(row, dict) or not isinstance(row.get("key"), str):
                raise EngineError("bad-job", f"{path}:{number}: field 'key' must be a string", None)
            ids = row.get("prompt_ids")
            if not isinstance(ids, list) or not ids or not all(isinstance(t, int) and t >= 0 for t in ids):
                raise EngineError(
                    "bad-job", f"{path}:{number}: field 'prompt_ids' must be a non-empty list of token ids", None
                )
            requests.append({"key": row["key"], "prompt_ids": ids})
    return requests


def write_results_atomically(path: str, results: list[dict]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".jsonl", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for result in results:
                handle.write(json.dumps(result, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def default_stop_tokens(model: nn.Module) -> list[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    if eos is None:
        eos = getattr(model.config, "eos_token_id", None)
    if eos is None:
        return []
    return [int(eos)] if isinstance(eos, int) else [int(t) for t in eos]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kielo_engine generate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model folder (Hugging Face format, safetensors)")
    parser.add_argument("--adapter", help="LoRA adapter folder to apply on the model")
    parser.add_argument("--input", required=True, help="requests JSONL: {key, prompt_ids}")
    parser.add_argument("--output", required=True, help="results JSONL: {key, output_ids, finish_reason}")
    parser.add_argument("--dtype", default="fp32", choices=["bf16", "fp16", "fp32"])
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--stop-token-ids", help="comma-separated; default: the model's eos_token_id(s)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available)")
    parser.add_argument("--trust-remote-code", action="store_true")
    return parser.parse_args(argv)


def emit(event: dict[str, Any]) -> None:
    event.setdefault("time", time.time())
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    from .lora import load_adapter
    from .modeling import load_model

    args = parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        stop_ids: list[int] | None = None
        if args.stop_token_ids:
            try:
                stop_ids = [int(t) for t in args.stop_token_ids.split(",") if t.strip()]
            except ValueError:
                message = f"--stop-token-ids must be comma-separated integers, got {args.stop_token_ids!r}"
                raise EngineError("bad-job", message, None) from None
        requests = read_requests(args.input)
        model = load_model(args.model, args.dtype, device=device, trust_remote_code=args.trust_remote_code)
        if args.adapter:
            model = load_adapter(model, args.adapter, trainable=False)
        vocab = model.get_input_embeddings().num_embeddings
        for number, request in enumerate(requests, start=1):
            if max(request["prompt_ids"]) >= vocab:
                raise EngineError(
                    "bad-job",
                    f"{args.input}: request {number} ({request['key']}) has a token id ≥ the vocabulary size {vocab}",
                    "were the prompts tokenised with this model's tokenizer?",
                )
        started = time.time()
        results = generate(
            model,
            requests,
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            seed=args.seed,
            batch_size=args.batch_size,
            stop_token_ids=stop_ids if stop_ids is not None else default_stop_tokens(model),
            on_progress=lambda done, total: emit({"type": "progress", "done": done, "total": total}),
        )
        write_results_atomically(args.output, results)
        generated = sum(len(r["output_ids"]) for r in results)
        seconds = time.time() - started
        emit({"type": "done", "output": args.output, "requests": len(results), "generated_tokens": generated,
              "seconds": seconds, "tokens_per_s": generated / seconds if seconds > 0 else None})
        return 0
    except EngineError as err:
        emit({"type": "error", "kind": err.kind, "message": err.message, "hint": err.hint})
        sys.stderr.write(f"error: {err.message}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
