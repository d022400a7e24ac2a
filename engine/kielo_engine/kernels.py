"""Fused Triton kernels for the element-wise parts of a decoder layer, from Liger when installed.

Between the matrix products a Llama-family layer runs RMSNorm (upcast to fp32, square, mean,
rsqrt, scale), rotary embeddings and SiLU·up as separate PyTorch ops, each a full read and write
of the activations and each keeping its own saved tensors for backward. Liger (PyPI
`liger-kernel`, optional) fuses each into one Triton kernel with a backward that recomputes
instead of storing — the library made for this, so the engine uses it rather than its own.

Only the element-wise kernels are taken (rms_norm, rope, swiglu): the loss is the engine's own
chunked head over trained tokens (forward.py), so Liger's cross-entropy patches stay off. Applied
on CUDA only, for model types Liger has an `apply_liger_kernel_to_<type>` for; `KIELO_KERNELS=none`
in the environment turns it off (e.g. to compare against plain PyTorch).
"""

from __future__ import annotations

import importlib
import importlib.util
import os

import torch
from torch import nn

from .forward import base_model


def apply_fused_kernels(model: nn.Module, device: torch.device) -> str:
    """Patch the model in place where possible; returns what was done, for the start event."""
    if os.environ.get("KIELO_KERNELS", "auto") == "none":
        return "pytorch (KIELO_KERNELS=none)"
    if device.type != "cuda":
        return "pytorch (not on a GPU)"
    if importlib.util.find_spec("liger_kernel") is None:
        return "pytorch (liger-kernel not installed)"
    base = base_model(model)
    model_type = getattr(base.config, "model_type", None)
    transformers_patches = importlib.import_module("liger_kernel.transformers")
    apply = getattr(transformers_patches, f"apply_liger_kernel_to_{model_type}", None)
    if apply is None:
        return f"pytorch (liger-kernel has no kernels for {model_type!r})"
    apply(rope=True, rms_norm=True, swiglu=True, cross_entropy=False, fused_linear_cross_entropy=False, model=base)
    return "liger-kernel rms_norm, rope, swiglu"
