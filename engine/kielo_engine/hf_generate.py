"""Generation with transformers' `generate`: the path for every architecture the fast decoder lacks.

Requests are sorted by prompt length, cut into batches, left-padded (decoder-only models continue
from the last position, so the padding goes on the left) and decoded with transformers' `generate`
and its KV cache; results come back in input order.

Sampling is seeded per request (sampling.py): the per-row draw happens in `PerRequestSampler`, a
logits processor that leaves only the drawn token finite; `generate` then runs in greedy mode, so
none of its own (globally seeded) samplers run. transformers' continuous batching
(`generate_batch`) exists in 5.x but samples from one global generator, which would break the
guarantee that a request's output does not depend on its batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .sampling import request_seed, sample_token


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


def transformers_generate(
    model: nn.Module,
    prompts: list[list[int]],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    batch_size: int,
    stop_token_ids: list[int],
    on_progress: Callable[[int, int], None] | None = None,
) -> list[list[int]]:
    """Generated tokens per prompt, in input order (after a stop token: padding, cut by the caller)."""
    device = model_device(model)
    pad = pad_token_for(model, stop_token_ids)
    stops = sorted(set(stop_token_ids))
    order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
    outputs: list[list[int]] = [[] for _ in prompts]
    was_training = model.training
    model.eval()
    done = 0
    try:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(prompts[i]) for i in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, index in enumerate(batch):
                prompt = prompts[index]
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
                    eos_token_id=stops or None,
                    pad_token_id=pad,
                    logits_processor=processors,
                )
            new_tokens = output[:, width:].tolist()
            for row, index in enumerate(batch):
                outputs[index] = new_tokens[row]
            done += len(batch)
            if on_progress is not None:
                on_progress(done, len(prompts))
    finally:
        model.train(was_training)
    return outputs
