"""LoRA's low-rank term as one autograd function, computed in the activation dtype.

peft computes `lora_B(lora_A(dropout(x))) * scaling` with `x` cast to the fp32 adapter weights:
for every adapted layer it writes an fp32 copy of the activations, a dropped-out fp32 copy, and
autograd keeps the fp32 copy for the backward of lora_A — seven such layers per decoder block
(all-linear). On a bf16 7B model that is more activation memory than the base model's own
activations, and most of the step's memory traffic outside the matrix products.

`LoraDelta` computes base + s·(m ⊙ x / (1 − p))·Aᵀ·Bᵀ in x's dtype (bf16 operands, fp32 accumulation in
the matrix products) and keeps only x (usually already kept: q, k, v share one input) and the
small [tokens × r] product. The dropout mask m is not kept: it is a function of a seed and the
element's index (`drop`: one Triton kernel on CUDA, dropout_triton.py), redrawn in the backward.
Gradients of the fp32 adapter weights come out in fp32. The result equals peft's up to bf16
rounding of the low-rank term, which is then added to a bf16 base output anyway.

`install(model)` swaps the forward of each peft LoRA Linear for one that uses LoraDelta whenever
the layer is in the plain case (one active vanilla LoRA adapter, not merged, not disabled, no
extra arguments) and falls back to peft's own forward otherwise, so peft's adapter switching,
`disable_adapter()` (the DPO reference) and saving are untouched.
"""

from __future__ import annotations

import functools
import importlib.util
import types
from collections.abc import Callable
from typing import Any

import torch
from peft.tuners.lora.layer import Linear as PeftLoraLinear
from torch import Tensor, nn


def dropout_seed() -> int:
    """A seed for one dropout mask, drawn from torch's CPU generator: reproducible under
    torch.manual_seed, drawn again identically when activation checkpointing replays a layer
    (it restores the CPU generator's state), and no GPU synchronisation to read it. Always above
    2³² so the Triton kernel sees one argument type and compiles once."""
    return int(torch.randint(2**32, 2**62, (1,)).item())


@functools.cache
def _triton_drop() -> Callable[[Tensor, int, float], Tensor] | None:
    # Looked up once: drop() runs four times per adapted layer and micro-batch.
    if importlib.util.find_spec("triton") is None:
        return None
    from .dropout_triton import drop_triton

    return drop_triton


def drop(t: Tensor, seed: int, keep: float) -> Tensor:
    """t ⊙ m with m ~ Bernoulli(keep) a function of (seed, element index, device kind), not rescaled.
    The same call gives the same m, so a backward redraws the forward's mask instead of keeping it."""
    kernel = _triton_drop() if t.is_cuda else None
    if kernel is not None:
        return kernel(t, seed, keep)
    generator = torch.Generator(device=t.device).manual_seed(seed)
    mask = torch.empty(t.shape, dtype=torch.bool, device=t.device).bernoulli_(keep, generator=generator)
    return t * mask


# The adapter's weights in the activation dtype, A already scaled by s/keep: cast once per
# optimizer step instead of in every forward and recomputed forward (three launches per adapted
# layer each time; a QLoRA step held to a small memory budget waits on the host for its launches).
# Entries hold the weight tensors themselves and their version counters; the trainer clears the
# cache after each optimizer step, since FSDP refills unsharded parameters without a new version.
_CAST: dict[tuple[int, int, torch.dtype, float], tuple[Tensor, Tensor, int, int, Tensor, Tensor]] = {}


def clear_weight_cache() -> None:
    _CAST.clear()


def _cast_weights(weight_a: Tensor, weight_b: Tensor, dtype: torch.dtype, factor: float) -> tuple[Tensor, Tensor]:
    key = (id(weight_a), id(weight_b), dtype, factor)
    hit = _CAST.get(key)
    if hit is not None and hit[0] is weight_a and hit[1] is weight_b and hit[2] == weight_a._version and hit[3] == weight_b._version:
        return hit[4], hit[5]
    a = weight_a.detach().to(dtype) * factor
    b = weight_b.detach().to(dtype)
    _CAST[key] = (weight_a, weight_b, weight_a._version, weight_b._version, a, b)
    return a, b


class LoraDelta(torch.autograd.Function):
    """base + s·(m ⊙ x / keep)·Aᵀ·Bᵀ, the low-rank term added to the base layer's output; m is
    `drop`'s mask for `seed` (no dropout when seed is None).

    Memory passes over [tokens × features] tensors are what this term costs (its products are
    tiny); the scale s/keep is folded into the small A, and the sum with the base output is the
    second product's own accumulation (addmm_, in place), so the forward pass reads x once to drop it out,
    once for the product with A, and writes the output once."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, base: Tensor, weight_a: Tensor, weight_b: Tensor, scaling: float, seed: int | None, keep: float,
                into_base: bool = False) -> Tensor:
        factor = scaling / keep
        a, b = _cast_weights(weight_a, weight_b, x.dtype, factor)
        dropped = x if seed is None else drop(x, seed, keep)
        xa = dropped.reshape(-1, x.shape[-1]) @ a.t()  # [tokens, r], already scaled by s/keep
        ctx.save_for_backward(x, a, b, xa)
        ctx.seed, ctx.keep = seed, keep
        ctx.factor = factor
        ctx.weight_dtypes = (weight_a.dtype, weight_b.dtype)
        if into_base and base.is_contiguous() and not base._is_view():
            # Accumulate into the base layer's output, which the caller says nothing else holds
            # (its own backward does not need it): addmm into a new tensor first copies the whole
            # [tokens × out] output (one device copy per adapted layer and forward).
            base.view(-1, base.shape[-1]).addmm_(xa, b.t())
            ctx.mark_dirty(base)
            return base
        return torch.addmm(base.reshape(-1, base.shape[-1]), xa, b.t()).view(base.shape)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, a, b, xa = ctx.saved_tensors
        seed, keep = ctx.seed, ctx.keep
        grad2 = grad.reshape(-1, grad.shape[-1])
        grad_xa = grad2 @ b  # [tokens, r]
        grad_x = grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad_xa @ a).view(x.shape)  # a carries s/keep
            if seed is not None:
                grad_x = drop(grad_x, seed, keep)
        if ctx.needs_input_grad[3]:
            # bf16 operands, fp32 accumulation inside the product, rounded once (as autocast does)
            grad_b = (grad2.t() @ xa).to(ctx.weight_dtypes[1])
        if ctx.needs_input_grad[2]:
            dropped = x if seed is None else drop(x, seed, keep)
            grad_a = ((grad_xa.t() @ dropped.reshape(-1, x.shape[-1])) * ctx.factor).to(ctx.weight_dtypes[0])
        grad_base = grad if ctx.needs_input_grad[1] else None
        return grad_x, grad_base, grad_a, grad_b, None, None, None, None


def lora_delta(x: Tensor, base: Tensor, weight_a: Tensor, weight_b: Tensor, scaling: float, dropout_p: float, training: bool,
               into_base: bool = False) -> Tensor:
    """base + the low-rank term of x, with dropout of probability `dropout_p` when training.
    `into_base`: add it to `base` in place (a fresh output of the base layer that nothing else holds)."""
    if training and dropout_p > 0:
        return LoraDelta.apply(x, base, weight_a, weight_b, scaling, dropout_seed(), 1.0 - dropout_p, into_base)
    return LoraDelta.apply(x, base, weight_a, weight_b, scaling, None, 1.0, into_base)


def _dropout_p(module: nn.Module) -> float:
    return float(module.p) if isinstance(module, nn.Dropout) else 0.0


def fused_forward(self: PeftLoraLinear, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    active = self.active_adapters
    plain = (
        not args
        and not kwargs
        and not self.disable_adapters
        and not self.merged
        and len(active) == 1
        and active[0] in self.lora_A
        and active[0] not in self.lora_variant
        and x.is_floating_point()
    )
    if not plain:
        return type(self).forward(self, x, *args, **kwargs)
    name = active[0]
    result = self.base_layer(x)
    return lora_delta(
        x.to(result.dtype), result, self.lora_A[name].weight, self.lora_B[name].weight, self.scaling[name],
        _dropout_p(self.lora_dropout[name]), self.training, into_base=True,
    )


def install(model: nn.Module) -> int:
    """Use LoraDelta in every peft LoRA Linear of `model`; returns how many layers."""
    count = 0
    for module in model.modules():
        if isinstance(module, PeftLoraLinear):
            module.forward = types.MethodType(fused_forward, module)
            count += 1
    return count
