"""Seeded dropout as one Triton kernel on CUDA tensors: t · m, m ~ Bernoulli(keep), m a function of
(seed, element index) only.

Why not PyTorch's: `bernoulli_` writes a mask (a full-size pass), the mask must be kept for the
backward (a byte per element, per adapted layer), and bool × bf16 takes ATen's non-vectorised
mixed-dtype path — 13 % of a LoRA 7B step's kernel time in the profile (docs/engine.md). Here the
mask is never stored: one pass reads t and writes t · m, and the backward calls the same kernel
with the same seed to get the same m. Philox (Triton's `randint4x`) gives four 32-bit draws per
counter: a program's 4·QUARTER elements share QUARTER counters, element b + k·QUARTER + j taking
draw k of counter b/4 + j, compared with `keep` as a uniform float in [0, 1).
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl
from torch import Tensor

# Elements per program: four sub-blocks of QUARTER contiguous elements, one Philox call for all four.
_QUARTER = 1024


@triton.jit
def _drop_part(t_ptr, out_ptr, offsets, n, draw, keep):
    in_range = offsets < n
    value = tl.load(t_ptr + offsets, mask=in_range, other=0.0)
    kept = tl.random.uint_to_uniform_float(draw) < keep
    tl.store(out_ptr + offsets, tl.where(kept, value, tl.zeros_like(value)), mask=in_range)


# The seed changes every call: not a specialisation key (one compiled kernel). `n` stays one: its
# divisibility by 16 is what lets the masked loads and stores be vectorised (without it: 1,065 GB/s
# on an H100 for [8192 × 11008] bf16; with it 1,680 GB/s; x·2 runs at 2,577).
@triton.jit(do_not_specialize=["seed"])
def _drop_kernel(t_ptr, out_ptr, n, seed, keep, QUARTER: tl.constexpr):
    pid = tl.program_id(0).to(tl.int64)
    lane = tl.arange(0, QUARTER).to(tl.int64)
    counters = pid * QUARTER + lane
    draw0, draw1, draw2, draw3 = tl.randint4x(seed, counters)
    # element base + k·QUARTER + j takes draw k of counter pid·QUARTER + j, i.e. element i takes
    # draw (i mod 4·QUARTER) div QUARTER: the same mask for the same (seed, index), whatever n is
    base = pid * (4 * QUARTER) + lane
    _drop_part(t_ptr, out_ptr, base, n, draw0, keep)
    _drop_part(t_ptr, out_ptr, base + QUARTER, n, draw1, keep)
    _drop_part(t_ptr, out_ptr, base + 2 * QUARTER, n, draw2, keep)
    _drop_part(t_ptr, out_ptr, base + 3 * QUARTER, n, draw3, keep)


def drop_triton(t: Tensor, seed: int, keep: float) -> Tensor:
    """t with each element zeroed with probability 1 − keep (not rescaled), as a new tensor."""
    if not t.is_cuda and not _interpreted():
        raise ValueError("the Triton dropout kernel needs CUDA tensors")
    t = t.contiguous()
    out = torch.empty_like(t)
    n = t.numel()
    grid = (triton.cdiv(n, 4 * _QUARTER),)
    _drop_kernel[grid](t, out, n, seed, float(keep), QUARTER=_QUARTER)
    return out


def _interpreted() -> bool:
    # TRITON_INTERPRET=1 runs the kernel on the CPU (the engine's CPU test of this file)
    return os.environ.get("TRITON_INTERPRET") == "1"
