"""Choosing tokens: greedy, or sampled with a per-request seed (independent of batching).

Request i draws from its own torch.Generator seeded with (seed, i), one uniform number per
generated token, and picks the token by inverse CDF over the temperature / top-p distribution.
So a request's output depends on its own logits and seed only, not on which other requests share
its batch or on the batch size. `sample_token` does this one row at a time (the transformers
path); `choose_tokens` does it for many rows at once with the numbers drawn up front by
`request_uniforms` (the fast path): the same numbers, the same arithmetic, the same tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor

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


def request_uniforms(seed: int, index: int, count: int) -> Tensor:
    """The first `count` numbers request `index` draws, in the order `sample_token` draws them (fp64, CPU)."""
    generator = torch.Generator().manual_seed(request_seed(seed, index))
    return torch.rand(count, generator=generator, dtype=torch.float64)


def choose_tokens(logits: Tensor, temperature: float, top_p: float, uniforms: Tensor | None) -> Tensor:
    """Next token per row: logits [rows, vocab] fp32; uniforms [rows] fp64, each row's next number."""
    if temperature == 0 or uniforms is None:
        return logits.argmax(dim=-1)
    probs = top_p_filter(torch.softmax(logits / temperature, dim=-1), top_p)
    cdf = probs.double().cumsum(dim=-1)
    index = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None]).squeeze(1)
    return index.clamp(max=logits.shape[-1] - 1)
