"""A Triton kernel for NF4 dequantisation on CUDA GPUs (same result, bit for bit, as nf4.py's).

One program handles BLOCK packed bytes: byte i holds elements 2i (high nibble) and 2i+1 (low
nibble), both in quantisation block (2i) // block_size because block_size is even. Each element
is code[nibble] · absmax[block] in fp32, then rounded once to the output dtype, exactly as the
PyTorch reference does. Double-quantised absmax constants are expanded by the caller (they are
1/64 of the weight's size, so plain PyTorch is fast enough for them).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from .nf4 import table_on


@triton.jit
def _dequantize_kernel(packed_ptr, absmax_ptr, code_ptr, out_ptr, n_packed, n_out, block_size, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offsets = pid * BLOCK + tl.arange(0, BLOCK)
    in_range = offsets < n_packed
    byte = tl.load(packed_ptr + offsets, mask=in_range, other=0).to(tl.int32)
    high = (byte >> 4) & 0x0F
    low = byte & 0x0F
    first = offsets * 2
    scale = tl.load(absmax_ptr + first // block_size, mask=in_range, other=0.0)
    value_high = tl.load(code_ptr + high, mask=in_range, other=0.0) * scale
    value_low = tl.load(code_ptr + low, mask=in_range, other=0.0) * scale
    tl.store(out_ptr + first, value_high.to(out_ptr.dtype.element_ty), mask=in_range & (first < n_out))
    tl.store(out_ptr + first + 1, value_low.to(out_ptr.dtype.element_ty), mask=in_range & (first + 1 < n_out))


def dequantize_nf4_triton(
    packed: Tensor, absmax: Tensor, shape: torch.Size | tuple[int, ...], block_size: int, dtype: torch.dtype
) -> Tensor:
    """Drop-in for nf4.dequantize_nf4_parts on CUDA tensors."""
    if not packed.is_cuda:
        raise ValueError("the Triton NF4 kernel needs CUDA tensors")
    count = 1
    for size in shape:
        count *= size
    code = table_on("nf4", packed.device)
    out = torch.empty(count, dtype=dtype, device=packed.device)
    block = 1024
    grid = (triton.cdiv(packed.numel(), block),)
    _dequantize_kernel[grid](packed, absmax.float().contiguous(), code, out, packed.numel(), count, block_size, BLOCK=block)
    return out.view(*shape)
