"""Decode attention as a Triton kernel: each row reads only its own cached positions.

One program per (row, kv head): it loads the group of query heads that share the kv head (padded
to 16 rows for `tl.dot`), walks the row's keys and values in blocks of BLOCK positions up to the
row's position, and keeps an online softmax (running max and sum, fp32), as flash-decoding does
without the split over the sequence. The grid depends only on the batch size, so a CUDA graph
captured for a batch size serves every cache length.

Checked against `attention.torch_attention` in the tests with Triton's interpreter on the CPU
(TRITON_INTERPRET=1), and at start-up on the GPU (`attention.self_test`): a failure there makes
the engine fall back to torch_attention and say so.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 64
GROUP_ROWS = 16  # tl.dot needs at least 16 rows


@triton.jit
def _attend_block(q, k_base, v_base, start, length, stride_kt, d, d_ok, scale, running_max, running_sum, acc,
                  BLOCK_N: tl.constexpr, IEEE: tl.constexpr, UPCAST: tl.constexpr):
    """Keys and values at positions start…start+BLOCK_N−1 (those below `length`) into the online softmax."""
    t = start + tl.arange(0, BLOCK_N)
    t_ok = t < length
    kv_mask = t_ok[:, None] & d_ok[None, :]
    k = tl.load(k_base + t[:, None] * stride_kt + d[None, :], mask=kv_mask, other=0.0)
    if UPCAST:
        k = k.to(tl.float32)
    if IEEE:
        scores = tl.dot(q, tl.trans(k), input_precision="ieee") * scale
    else:
        scores = tl.dot(q, tl.trans(k)) * scale
    scores = tl.where(t_ok[None, :], scores, float("-inf"))
    new_max = tl.maximum(running_max, tl.max(scores, 1))
    correction = tl.exp(running_max - new_max)
    p = tl.exp(scores - new_max[:, None])
    running_sum = running_sum * correction + tl.sum(p, 1)
    v = tl.load(v_base + t[:, None] * stride_kt + d[None, :], mask=kv_mask, other=0.0)
    if UPCAST:
        v = v.to(tl.float32)
    if IEEE:
        acc = acc * correction[:, None] + tl.dot(p.to(v.dtype), v, input_precision="ieee")
    else:
        acc = acc * correction[:, None] + tl.dot(p.to(v.dtype), v)
    return new_max, running_sum, acc


@triton.jit
def _decode_attention_kernel(
    Q, K, V, O, POSITIONS,  # noqa: E741 — attention's own names (Q, K, V, O)
    stride_qb, stride_qh,
    stride_kb, stride_kh, stride_kt,
    stride_ob, stride_oh,
    scale,
    GROUPS: tl.constexpr, DIM: tl.constexpr, DIM_P: tl.constexpr,
    BLOCK_N: tl.constexpr, ROWS: tl.constexpr, IEEE: tl.constexpr, INTERPRETED: tl.constexpr,
):
    # 64-bit offsets: a large cache has more than 2³¹ elements.
    row = tl.program_id(0).to(tl.int64)
    kv_head = tl.program_id(1).to(tl.int64)
    length = tl.load(POSITIONS + row) + 1
    g = tl.arange(0, ROWS)
    d = tl.arange(0, DIM_P)
    g_ok = g < GROUPS
    d_ok = d < DIM
    q_ptrs = Q + row * stride_qb + (kv_head * GROUPS + g)[:, None] * stride_qh + d[None, :]
    q = tl.load(q_ptrs, mask=g_ok[:, None] & d_ok[None, :], other=0.0)
    if INTERPRETED:
        # The interpreter's tl.dot reads bf16/fp16 operands wrongly; it computes in fp32 instead.
        q = q.to(tl.float32)
    k_base = K + row * stride_kb + kv_head * stride_kh
    v_base = V + row * stride_kb + kv_head * stride_kh
    running_max = tl.full((ROWS,), float("-inf"), dtype=tl.float32)
    running_sum = tl.zeros((ROWS,), dtype=tl.float32)
    acc = tl.zeros((ROWS, DIM_P), dtype=tl.float32)
    if INTERPRETED:
        # Triton's interpreter cannot take a loaded value as a `range` bound under NumPy 2; a
        # while loop computes the same blocks.
        start = length * 0
        while start < length:
            running_max, running_sum, acc = _attend_block(
                q, k_base, v_base, start, length, stride_kt, d, d_ok, scale, running_max, running_sum, acc,
                BLOCK_N, IEEE, INTERPRETED)
            start += BLOCK_N
    else:
        for start in range(0, length, BLOCK_N):
            running_max, running_sum, acc = _attend_block(
                q, k_base, v_base, start, length, stride_kt, d, d_ok, scale, running_max, running_sum, acc,
                BLOCK_N, IEEE, INTERPRETED)
    out = acc / running_sum[:, None]
    o_ptrs = O + row * stride_ob + (kv_head * GROUPS + g)[:, None] * stride_oh + d[None, :]
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=g_ok[:, None] & d_ok[None, :])


def triton_attention(q: Tensor, k_cache: Tensor, v_cache: Tensor, positions: Tensor, width: int) -> Tensor:
    """attention.Attend over each row's own positions; `width` is not needed and ignored."""
    batch, heads, dim = q.shape
    kv_heads = k_cache.shape[1]
    groups = heads // kv_heads
    if groups > GROUP_ROWS:
        raise ValueError(f"{groups} query heads per kv head: the kernel handles at most {GROUP_ROWS}")
    if q.stride(-1) != 1 or k_cache.stride(-1) != 1 or v_cache.stride() != k_cache.stride():
        raise ValueError("the kernel needs head_dim contiguous and K and V caches laid out alike")
    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    out = torch.empty(batch, heads, dim, dtype=q.dtype, device=q.device)
    _decode_attention_kernel[(batch, kv_heads)](
        q, k_cache, v_cache, out, positions,
        q.stride(0), q.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        out.stride(0), out.stride(1),
        dim**-0.5,
        GROUPS=groups, DIM=dim, DIM_P=max(16, triton.next_power_of_2(dim)),
        BLOCK_N=BLOCK, ROWS=GROUP_ROWS, IEEE=q.dtype == torch.float32 or interpreted,
        INTERPRETED=interpreted,
    )
    return out.view(batch, heads * dim)
