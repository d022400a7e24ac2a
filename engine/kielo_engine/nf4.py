"""NF4 (4-bit NormalFloat) storage and dequantisation in plain PyTorch, for QLoRA.

Layout (that of bitsandbytes' `quant_type="nf4"`, so the numbers mean the same thing):
- the weight is flattened row-major and cut into blocks of `block_size` (64) values; each block
  stores its absmax (max |w|) and, per value, the index (0…15) of the nearest of the 16 NF4 code
  values in w / absmax;
- two indices per byte, the FIRST value of a pair in the HIGH nibble;
- a tail block shorter than `block_size` is padded with zeros before packing (and ignored when
  dequantising);
- optional double quantisation of the absmax constants: subtract their mean (`offset`), then
  quantise them block-wise (blocks of 256) to 8 bits with bitsandbytes' signed dynamic map; each
  256-block keeps its own fp32 absmax. This saves 32 − (8 + 32/256) ≈ 23.9 bits per 64 weights.

This is the engine's NF4 backend; `KIELO_NF4=bitsandbytes` makes `modeling.load_model` use
bitsandbytes instead where it is importable (see `nf4_backend`). `NF4Linear` dequantises its weight on the fly in forward and again in backward
(a custom autograd function), so only the packed weight stays in memory between the two.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The 16 NF4 code values of QLoRA (Dettmers et al. 2023, appendix E; bitsandbytes `get_4bit_type`).
NF4_CODE = torch.tensor(
    [
        -1.0,
        -0.6961928009986877,
        -0.5250730514526367,
        -0.39491748809814453,
        -0.28444138169288635,
        -0.18477343022823334,
        -0.09105003625154495,
        0.0,
        0.07958029955625534,
        0.16093020141124725,
        0.24611230194568634,
        0.33791524171829224,
        0.44070982933044434,
        0.5626170039176941,
        0.7229568362236023,
        1.0,
    ],
    dtype=torch.float32,
)

DEFAULT_BLOCK_SIZE = 64
ABSMAX_BLOCK_SIZE = 256


def nf4_max_half_gap() -> float:
    """The largest distance from a value in [−1, 1] to its nearest NF4 code (half the widest gap)."""
    return float((NF4_CODE[1:] - NF4_CODE[:-1]).max() / 2)


def dynamic_map_signed() -> Tensor:
    """bitsandbytes' `create_dynamic_map(signed=True)`: 256 values in [−1, 1], sorted.

    7 exponent steps (10⁻⁶ … 10⁰), each with 2^i linearly spaced fractions between 0.1 and 1 (the
    midpoints of the linspace), both signs, plus 0 and 1.
    """
    max_exponent_bits, non_sign_bits = 7, 7
    data: list[float] = []
    for i in range(max_exponent_bits):
        fraction_items = 2 ** (i + non_sign_bits - max_exponent_bits) + 1
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        scale = 10 ** (-(max_exponent_bits - 1) + i)
        data += (scale * means).tolist()
        data += (-scale * means).tolist()
    data += [0.0, 1.0]
    assert len(data) == 256
    return torch.tensor(sorted(data), dtype=torch.float32)


DYNAMIC_MAP = dynamic_map_signed()


def _nearest_code(normalised: Tensor, code: Tensor) -> Tensor:
    """Index of the nearest value of the sorted `code` for each element (ties go to the upper code)."""
    code = code.to(normalised.device)
    midpoints = (code[1:] + code[:-1]) / 2
    return torch.bucketize(normalised, midpoints, right=True, out_int32=True)


def _blocks(flat: Tensor, block_size: int) -> Tensor:
    pad = (-flat.numel()) % block_size
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    return flat.view(-1, block_size)


def pack_nibbles(indices: Tensor) -> Tensor:
    """uint8 pairs: the first value in the high nibble, the second in the low nibble."""
    flat = indices.reshape(-1).to(torch.uint8)
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    pairs = flat.view(-1, 2)
    return (pairs[:, 0] << 4) | pairs[:, 1]


def unpack_nibbles(packed: Tensor, count: int) -> Tensor:
    """Inverse of `pack_nibbles`: `count` indices (int64)."""
    high = (packed >> 4) & 0x0F
    low = packed & 0x0F
    return torch.stack([high, low], dim=1).reshape(-1)[:count].long()


@dataclass
class AbsmaxState:
    """Double-quantised absmax constants: uint8 codes into DYNAMIC_MAP, per-256-block scales, offset."""

    codes: Tensor  # uint8 [n_blocks]
    scales: Tensor  # fp32 [ceil(n_blocks / 256)]
    offset: Tensor  # fp32 scalar: the mean subtracted before quantising


def quantize_absmax(absmax: Tensor) -> AbsmaxState:
    offset = absmax.mean()
    centred = _blocks(absmax - offset, ABSMAX_BLOCK_SIZE)
    scales = centred.abs().amax(dim=1).clamp(min=torch.finfo(torch.float32).tiny)
    codes = _nearest_code(centred / scales[:, None], DYNAMIC_MAP)
    return AbsmaxState(codes=codes.reshape(-1)[: absmax.numel()].to(torch.uint8), scales=scales, offset=offset)


_TABLES: dict[tuple[str, torch.device], Tensor] = {}


def table_on(name: str, device: torch.device) -> Tensor:
    """NF4_CODE or DYNAMIC_MAP on `device`, copied there once. A copy from CPU memory at every
    dequantisation made the host wait for the GPU each time (three times per layer and
    micro-batch in QLoRA): the GPU then idled between the small kernels of a micro-batch."""
    key = (name, device)
    table = _TABLES.get(key)
    if table is None:
        table = _TABLES[key] = {"nf4": NF4_CODE, "dynamic": DYNAMIC_MAP}[name].to(device)
    return table


def dequantize_absmax(state: AbsmaxState) -> Tensor:
    n = state.codes.numel()
    values = table_on("dynamic", state.codes.device)[state.codes.long()]
    scales = state.scales.repeat_interleave(ABSMAX_BLOCK_SIZE)[:n]
    return values * scales + state.offset


@dataclass
class NF4Tensor:
    """A weight quantised to NF4: packed indices plus the absmax constants (plain or double-quantised)."""

    packed: Tensor  # uint8 [ceil(numel / 2)]
    shape: torch.Size
    block_size: int
    absmax: Tensor | None  # fp32 [n_blocks], when not double-quantised
    absmax_state: AbsmaxState | None  # when double-quantised

    def block_absmax(self) -> Tensor:
        if self.absmax_state is not None:
            return dequantize_absmax(self.absmax_state)
        assert self.absmax is not None
        return self.absmax


def quantize_nf4(weight: Tensor, *, block_size: int = DEFAULT_BLOCK_SIZE, double_quant: bool = False) -> NF4Tensor:
    """Quantise any float tensor to NF4 (computed in fp32 on the tensor's device)."""
    if block_size <= 0 or block_size % 2:
        raise ValueError(f"block_size must be a positive even number, got {block_size}")
    blocks = _blocks(weight.detach().reshape(-1).float(), block_size)
    absmax = blocks.abs().amax(dim=1)
    # An all-zero block: any scale works (every value maps to code 0.0); avoid 0/0.
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    indices = _nearest_code(blocks / safe[:, None], NF4_CODE)
    packed = pack_nibbles(indices.reshape(-1)[: weight.numel()])
    if double_quant:
        return NF4Tensor(packed, weight.shape, block_size, None, quantize_absmax(absmax))
    return NF4Tensor(packed, weight.shape, block_size, absmax, None)


def dequantize_nf4_parts(
    packed: Tensor, absmax: Tensor, shape: torch.Size | tuple[int, ...], block_size: int, dtype: torch.dtype
) -> Tensor:
    """code[index] · absmax[block], reshaped, in `dtype` (the PyTorch reference dequantiser)."""
    count = 1
    for size in shape:
        count *= size
    indices = unpack_nibbles(packed, count)
    values = table_on("nf4", packed.device)[indices]
    pad = (-count) % block_size
    if pad:
        values = torch.cat([values, values.new_zeros(pad)])
    values = values.view(-1, block_size) * absmax.float()[:, None]
    return values.reshape(-1)[:count].view(*shape).to(dtype)


def dequantize_nf4(q: NF4Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    return dequantize_nf4_parts(q.packed, q.block_absmax(), q.shape, q.block_size, dtype)


# A faster dequantiser (e.g. the Triton kernel in nf4_triton.py) can be plugged in here; it must
# compute exactly what dequantize_nf4_parts computes.
Dequantizer = Callable[[Tensor, Tensor, tuple[int, ...], int, torch.dtype], Tensor]


@functools.cache
def _triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def default_dequantizer(packed: Tensor) -> Dequantizer:
    """The Triton kernel for CUDA tensors when Triton is importable, else the PyTorch reference."""
    if packed.is_cuda and _triton_available():
        from .nf4_triton import dequantize_nf4_triton

        return dequantize_nf4_triton
    return dequantize_nf4_parts


def _fused_double_dequantizer(packed: Tensor) -> Callable[..., Tensor] | None:
    """The Triton kernel that also decodes double-quantised absmax constants, for CUDA tensors."""
    if packed.is_cuda and _triton_available():
        from .nf4_triton import dequantize_nf4_double_triton

        return dequantize_nf4_double_triton
    return None


class _NF4LinearFunction(torch.autograd.Function):
    """y = x·deq(W)ᵀ + b without keeping deq(W) alive between forward and backward.

    The base weight is frozen (QLoRA), so backward only needs grad wrt x, for which W is
    dequantised a second time. This is what keeps QLoRA's activation memory free of full weights.
    """

    @staticmethod
    def forward(ctx, x: Tensor, module: NF4Linear) -> Tensor:  # type: ignore[override]
        weight = module.dequantized_weight(x.dtype)
        ctx.module = module
        return F.linear(x, weight, module.bias.to(x.dtype) if module.bias is not None else None)

    @staticmethod
    def backward(ctx, grad_output: Tensor):  # type: ignore[override]
        weight = ctx.module.dequantized_weight(grad_output.dtype)
        return grad_output @ weight, None


class NF4Linear(nn.Module):
    """A frozen Linear layer stored in NF4, dequantised on the fly to `compute_dtype`.

    Buffers: `weight` (packed uint8, named like bitsandbytes' `Params4bit` so peft finds the layer's
    device), `absmax` or (`absmax_codes`, `absmax_scales`, `absmax_offset`). Do not call
    `model.to(dtype)` on a quantised model: that would cast the fp32 absmax buffers too.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: Tensor | None,
        quantized: NF4Tensor,
        compute_dtype: torch.dtype,
        dequantizer: Dequantizer | None = None,
    ):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.block_size = quantized.block_size
        self.double_quant = quantized.absmax_state is not None
        self.compute_dtype = compute_dtype
        self.dequantizer = dequantizer
        self.register_buffer("weight", quantized.packed)
        if quantized.absmax_state is not None:
            self.register_buffer("absmax_codes", quantized.absmax_state.codes)
            self.register_buffer("absmax_scales", quantized.absmax_state.scales)
            self.register_buffer("absmax_offset", quantized.absmax_state.offset.reshape(1))
        else:
            self.register_buffer("absmax", quantized.absmax)
        if bias is not None:
            self.bias: nn.Parameter | None = nn.Parameter(bias.detach().to(compute_dtype), requires_grad=False)
        else:
            self.bias = None

    @classmethod
    def from_linear(
        cls,
        linear: nn.Linear,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        double_quant: bool = False,
        compute_dtype: torch.dtype = torch.bfloat16,
        device: torch.device | str | None = None,
    ) -> NF4Linear:
        weight = linear.weight.detach()
        if device is not None:
            weight = weight.to(device)
        quantized = quantize_nf4(weight, block_size=block_size, double_quant=double_quant)
        bias = linear.bias.detach().to(weight.device) if linear.bias is not None else None
        return cls(linear.in_features, linear.out_features, bias=bias, quantized=quantized, compute_dtype=compute_dtype)

    def quantized(self) -> NF4Tensor:
        state = (
            AbsmaxState(self.absmax_codes, self.absmax_scales, self.absmax_offset.reshape(()))
            if self.double_quant
            else None
        )
        absmax = None if self.double_quant else self.absmax
        shape = torch.Size((self.out_features, self.in_features))
        return NF4Tensor(self.weight, shape, self.block_size, absmax, state)

    def block_absmax(self) -> Tensor:
        return self.quantized().block_absmax()

    def dequantized_weight(self, dtype: torch.dtype | None = None) -> Tensor:
        dtype = dtype or self.compute_dtype
        fused = _fused_double_dequantizer(self.weight) if self.double_quant and self.dequantizer is None else None
        if fused is not None:
            return fused(
                self.weight, self.absmax_codes, self.absmax_scales, self.absmax_offset, (self.out_features, self.in_features), self.block_size, dtype,
            )
        dequantize = self.dequantizer or default_dequantizer(self.weight)
        return dequantize(self.weight, self.block_absmax(), (self.out_features, self.in_features), self.block_size, dtype)

    def forward(self, x: Tensor) -> Tensor:
        input_dtype = x.dtype
        out = _NF4LinearFunction.apply(x.to(self.compute_dtype), self)
        return out.to(input_dtype)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
            f"block_size={self.block_size}, double_quant={self.double_quant}, compute_dtype={self.compute_dtype}"
        )


def quantize_linear_layers(
    model: nn.Module,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    double_quant: bool = False,
    compute_dtype: torch.dtype = torch.bfloat16,
    device: torch.device | str | None = None,
    skip: Callable[[str, nn.Linear], bool] | None = None,
) -> list[str]:
    """Replace every nn.Linear (except those `skip` names) by an NF4Linear, one layer at a time.

    Each layer is moved to `device` before quantising, so the full-precision model can stay on the
    CPU and the accelerator only ever holds one full-precision layer. Returns the replaced names.
    """
    replaced: list[str] = []
    for name, module in list(model.named_modules()):
        if not isinstance(module, nn.Linear) or (skip is not None and skip(name, module)):
            continue
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        quantized = NF4Linear.from_linear(
            module, block_size=block_size, double_quant=double_quant, compute_dtype=compute_dtype, device=device
        )
        setattr(parent, child_name, quantized)
        replaced.append(name)
    return replaced


def nf4_backend(find_spec: Callable[[str], object | None] = importlib.util.find_spec, env: Mapping[str, str] = os.environ) -> str:
    """"kielo" (this module) unless `KIELO_NF4=bitsandbytes` asks for bitsandbytes and it can be
    imported. Opt-in, never by mere presence: the two round to the same NF4 codes but compute
    differently, and a QLoRA run must not change because a package appeared on the host."""
    if env.get("KIELO_NF4", "kielo") != "bitsandbytes":
        return "kielo"
    try:
        return "bitsandbytes" if find_spec("bitsandbytes") is not None else "kielo"
    except (ImportError, ValueError):
        return "kielo"
