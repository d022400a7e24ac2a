"""Triton kernels for NF4 dequantisation on CUDA GPUs (same result, bit for bit, as nf4.py's).

One program handles BLOCK packed bytes: byte i holds elements 2i (high nibble) and 2i+1 (low
nibble), both in quantisation block (2i) // block_size because block_size is even. Each element
is code[nibble] · absmax[block] in fp32, then rounded once to the output dtype, exactly as the
PyTorch reference does.

Double-quantised absmax constants are decoded inside the same kernel (`dequantize_nf4_double_
triton`): absmax[block] = dynamic[codes[block]] · scales[block // 256] + offset, rounded after the
product and after the sum as the reference's two PyTorch operations are (FMA contraction off).
Decoding them in PyTorch first took six more launches per dequantisation — on a QLoRA step
held to a small memory budget the GPU waits on the host, and every launch counts.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl
from torch import Tensor

from .nf4 import ABSMAX_BLOCK_SIZE, table_on


@triton.jit
def _store_pair(code_ptr, out_ptr, byte, first, scale, in_range, n_out):
    """Elements first and first + 1 from one packed byte (high nibble first), times their absmax."""
    value_high = tl.load(code_ptr + ((byte >> 4) & 0x0F), mask=in_range, other=0.0) * scale
    value_low = tl.load(code_ptr + (byte & 0x0F), mask=in_range, other=0.0) * scale
    tl.store(out_ptr + first, value_high.to(out_ptr.dtype.element_ty), mask=in_range & (first < n_out))
    tl.store(out_ptr + first + 1, value_low.to(out_ptr.dtype.element_ty), mask=in_range & (first + 1 < n_out))


@triton.jit
def _dequantize_kernel(packed_ptr, absmax_ptr, code_ptr, out_ptr, n_packed, n_out, block_size, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    in_range = offsets < n_packed
    byte = tl.load(packed_ptr + offsets, mask=in_range, other=0).to(tl.int32)
    first = offsets * 2
    scale = tl.load(absmax_ptr + first // block_size, mask=in_range, other=0.0)
    _store_pair(code_ptr, out_ptr, byte, first, scale, in_range, n_out)


@triton.jit
def _dequantize_double_kernel(packed_ptr, absmax_codes_ptr, absmax_scales_ptr, absmax_offset_ptr, dynamic_ptr, code_ptr, out_ptr,
                              n_packed, n_out, block_size, ABSMAX_BLOCK: tl.constexpr, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    in_range = offsets < n_packed
    byte = tl.load(packed_ptr + offsets, mask=in_range, other=0).to(tl.int32)
    first = offsets * 2
    block = first // block_size
    absmax_code = tl.load(absmax_codes_ptr + block, mask=in_range, other=0).to(tl.int32)
    dynamic = tl.load(dynamic_ptr + absmax_code, mask=in_range, other=0.0)
    group_scale = tl.load(absmax_scales_ptr + block // ABSMAX_BLOCK, mask=in_range, other=0.0)
    scale = dynamic * group_scale + tl.load(absmax_offset_ptr)
    _store_pair(code_ptr, out_ptr, byte, first, scale, in_range, n_out)


def _check_device(packed: Tensor) -> None:
    # TRITON_INTERPRET=1 runs the kernels on the CPU: the engine's CPU test of this file
    if not packed.is_cuda and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError("the Triton NF4 kernel needs CUDA tensors")


def _count(shape: torch.Size | tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


BLOCK = 1024


def dequantize_nf4_triton(
    packed: Tensor, absmax: Tensor, shape: torch.Size | tuple[int, ...], block_size: int, dtype: torch.dtype
) -> Tensor:
    """Drop-in for nf4.dequantize_nf4_parts on CUDA tensors."""
    _check_device(packed)
    count = _count(shape)
    out = torch.empty(count, dtype=dtype, device=packed.device)
    grid = (triton.cdiv(packed.numel(), BLOCK),)
    _dequantize_kernel[grid](packed, absmax.float().contiguous(), table_on("nf4", packed.device), out, packed.numel(), count, block_size, BLOCK=BLOCK)
    return out.view(*shape)


def dequantize_nf4_double_triton(
    packed: Tensor, codes: Tensor, scales: Tensor, offset: Tensor, shape: torch.Size | tuple[int, ...], block_size: int, dtype: torch.dtype
) -> Tensor:
    """nf4.dequantize_nf4_parts(packed, dequantize_absmax(AbsmaxState(codes, scales, offset)), …) in one kernel."""
    _check_device(packed)
    count = _count(shape)
    out = torch.empty(count, dtype=dtype, device=packed.device)
    grid = (triton.cdiv(packed.numel(), BLOCK),)
    # No FMA: the reference rounds dynamic·scale, then adds the offset.
    _dequantize_double_kernel[grid](
        packed, codes, scales, offset, table_on("dynamic", packed.device), table_on("nf4", packed.device), out,
        packed.numel(), count, block_size, ABSMAX_BLOCK=ABSMAX_BLOCK_SIZE, BLOCK=BLOCK, enable_fp_fusion=False,
    )
    return out.view(*shape)
