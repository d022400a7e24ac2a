"""Batched generation from already-tokenised prompts (docs/formats.md §4).

Two backends compute the same thing:

- `fast` (decode/): the engine's own decoder for the Llama family (llama, mistral, qwen2, qwen3),
  computing on the model's weights with every prompt in flight over a static KV cache, rows
  leaving the batch as they stop, and CUDA graphs for the decode step on the GPU.
- `transformers` (hf_generate.py): transformers' `generate` in length-sorted, left-padded batches.

`auto` (the default) takes `fast` when the model is one it computes and `transformers`
otherwise, and says which in the `done` event. Greedy output is the same on both (in fp32, token
for token); sampling is seeded per request (sampling.py), so a request's output depends neither on
the batch nor on the backend, up to rounding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .decode import FastOptions, Unsupported, fast_generate, unsupported_reason
from .errors import EngineError
from .events import print_event
from .hf_generate import transformers_generate
from .outputs import atomic_write_jsonl

BACKENDS = ("auto", "fast", "transformers")
TRANSFORMERS_BATCH_SIZE = 16  # the transformers backend's default batch


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
    batch_size: int | None = None,
    stop_token_ids: list[int],
    on_progress: Callable[[int, int], None] | None = None,
    backend: str = "auto",
    fast_options: FastOptions | None = None,
    report: dict | None = None,
) -> list[dict]:
    """Continue each request's `prompt_ids`; returns `{key, output_ids, finish_reason}` in input order.

    `batch_size`: rows decoded together at most (transformers: the batch, default 16; fast: the
    rows in flight, default as many as memory holds). `report`, when given, is filled with the
    backend used (and why, when `auto` could not use `fast`) and the fast path's numbers.
    """
    if max_new_tokens <= 0 or (batch_size is not None and batch_size <= 0):
        raise EngineError("bad-job", "max_new_tokens and batch_size must be positive", None)
    if temperature < 0 or not 0.0 < top_p <= 1.0:
        raise EngineError("bad-job", f"temperature must be ≥ 0 and top_p in (0, 1], got {temperature}, {top_p}", None)
    if backend not in BACKENDS:
        raise EngineError("bad-job", f"unknown generation backend {backend!r}", f"use one of {', '.join(BACKENDS)}")
    report = report if report is not None else {}
    if not requests:
        return []
    prompts = [list(r["prompt_ids"]) for r in requests]
    settings = {"max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p, "seed": seed,
                "stop_token_ids": stop_token_ids, "on_progress": on_progress}
    outputs = None
    reason = unsupported_reason(model) if backend != "transformers" else "asked for (--backend transformers)"
    if reason is None:
        try:
            outputs, numbers = fast_generate(model, prompts, max_rows=batch_size, options=fast_options, **settings)
            report.update(backend="fast", fast=numbers.as_dict())
        except Unsupported as err:
            reason = str(err)
        except torch.OutOfMemoryError:
            raise
        except Exception as err:  # `auto` promises answers: say why, then use transformers
            if backend == "fast":
                raise
            reason = f"the fast backend failed ({type(err).__name__}: {str(err)[:300]})"
            sys.stderr.write(f"warning: {reason}; generating with transformers instead\n")
    if outputs is None:
        if backend == "fast":
            raise EngineError("bad-job", f"the fast generation backend cannot run this model: {reason}",
                              "use --backend auto or transformers")
        outputs = transformers_generate(model, prompts, batch_size=batch_size or TRANSFORMERS_BATCH_SIZE, **settings)
        report.update(backend="transformers", backend_reason=reason)
    stops = set(stop_token_ids)
    results = []
    for request, tokens in zip(requests, outputs, strict=True):
        output_ids, finish = split_output(tokens, stops)
        results.append({"key": request["key"], "output_ids": output_ids, "finish_reason": finish})
    return results


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
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"rows decoded together at most (default: {TRANSFORMERS_BATCH_SIZE} on the transformers backend, "
                        "as many as memory holds on the fast one)")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="fast: kielo's decoder (Llama family); transformers: transformers' generate; "
                        "auto: fast when the model is one it computes")
    parser.add_argument("--attention", default="auto", choices=["auto", "triton", "torch"],
                        help="fast backend's decode attention (auto: the Triton kernel on CUDA when its self-test passes)")
    parser.add_argument("--no-cuda-graphs", action="store_true", help="fast backend: run decode steps without CUDA graphs")
    parser.add_argument("--stop-token-ids", help="comma-separated; default: the model's eos_token_id(s)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available)")
    parser.add_argument("--trust-remote-code", action="store_true")
    return parser.parse_args(argv)


def emit(event: dict[str, Any]) -> None:
    print_event(event)


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
            if args.backend != "transformers":
                # W + (α/r)·B·A in memory: the fast decoder computes on plain weights.
                model = model.merge_and_unload()
        vocab = model.get_input_embeddings().num_embeddings
        for number, request in enumerate(requests, start=1):
            if max(request["prompt_ids"]) >= vocab:
                raise EngineError(
                    "bad-job",
                    f"{args.input}: request {number} ({request['key']}) has a token id ≥ the vocabulary size {vocab}",
                    "were the prompts tokenised with this model's tokenizer?",
                )
        started = time.time()
        report: dict[str, Any] = {}
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
            backend=args.backend,
            fast_options=FastOptions(attention=args.attention, graphs=not args.no_cuda_graphs,
                                     log=lambda message: sys.stderr.write(f"warning: {message}\n")),
            report=report,
        )
        atomic_write_jsonl(args.output, results)
        generated = sum(len(r["output_ids"]) for r in results)
        seconds = time.time() - started
        emit({"type": "done", "output": args.output, "requests": len(results), "generated_tokens": generated,
              "seconds": seconds, "tokens_per_s": generated / seconds if seconds > 0 else None, **report})
        return 0
    except torch.OutOfMemoryError as err:
        hint = "lower --batch-size (rows decoded together) or --max-new-tokens, or use a smaller dtype"
        emit({"type": "error", "kind": "oom", "message": f"out of memory while generating: {str(err)[:300]}", "hint": hint})
        sys.stderr.write(f"error: out of memory while generating ({hint})\n")
        return 1
    except EngineError as err:
        emit({"type": "error", "kind": err.kind, "message": err.message, "hint": err.hint})
        sys.stderr.write(f"error: {err.message}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
