"""Decode attention: one query per row against that row's cached keys at positions 0…pos.

Two implementations of the same function (layers.Attend):

- `torch_attention`: batched matrix products over the first `width` cache positions of every row,
  positions past a row's own masked out. Runs everywhere (CPU, CUDA, inside CUDA graphs); it reads
  `width` positions for every row, so the scheduler picks `width` from a few buckets just above the
  longest row.
- `triton_attention` (triton_attention.py, CUDA): each (row, kv head) program reads only that row's
  own positions, so `width` is ignored and one captured graph serves every length.

Both compute the scores of one kv head's query group together (grouped-query attention reads each
key once), softmax in fp32.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .layers import Attend


def torch_attention(q: Tensor, k_cache: Tensor, v_cache: Tensor, positions: Tensor, width: int) -> Tensor:
    batch, heads, dim = q.shape
    kv_heads = k_cache.shape[1]
    groups = heads // kv_heads
    # [batch, kv_heads, width, dim] views of the cache merge to [batch·kv_heads, width, dim] without a copy.
    k = k_cache[:batch, :, :width].reshape(batch * kv_heads, width, dim)
    v = v_cache[:batch, :, :width].reshape(batch * kv_heads, width, dim)
    scores = torch.bmm(q.reshape(batch * kv_heads, groups, dim), k.transpose(1, 2)) * dim**-0.5
    beyond = torch.arange(width, device=q.device)[None, :] > positions[:, None]  # [batch, width]
    scores = scores.view(batch, kv_heads * groups, width).masked_fill(beyond[:, None, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.bmm(probs.view(batch * kv_heads, groups, width), v)
    return out.view(batch, heads * dim)


def self_test(attend: Attend, device: torch.device, dtype: torch.dtype, heads: int, kv_heads: int, dim: int) -> float:
    """Largest |difference| between `attend` and `torch_attention` on random rows of varied lengths."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    batch, slots, length = 5, 7, 200
    q = torch.randn(batch, heads, dim, generator=generator).to(device, dtype)
    k = torch.randn(slots, kv_heads, length, dim, generator=generator).to(device, dtype)
    v = torch.randn(slots, kv_heads, length, dim, generator=generator).to(device, dtype)
    positions = torch.tensor([0, 1, 63, 64, 199], device=device)
    got = attend(q, k, v, positions, length).float()
    want = torch_attention(q.float(), k.float(), v.float(), positions, length)
    return float((got - want).abs().max())
