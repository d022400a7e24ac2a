"""How a job stores and computes its weights (docs/engine.md, "Numerics").

- Full fine-tuning keeps fp32 master weights (and so fp32 gradients and AdamW states) and computes
  in the job's dtype: `torch.autocast` in one process, FSDP2's `MixedPrecisionPolicy(param_dtype=
  bf16, reduce_dtype=fp32)` under torchrun. Updating bf16 weights directly rounds away any step
  smaller than half a bf16 ulp (2^-9 relative): at lr 1e-5 most weights would never move.
- LoRA/QLoRA keep the frozen base in the job's dtype (QLoRA: NF4 with its compute dtype) and the
  adapter in fp32 (peft's `autocast_adapter_dtype`).
- Under autocast the residual stream is kept in the compute dtype too (`residual_in_compute_dtype`):
  the embedding of fp32 weights would otherwise make every hidden state fp32, so each decoder
  layer would read and write its residual, norms and their casts at twice the bytes — as FSDP's
  policy (bf16 shards) and a model loaded in bf16 already compute.
- The saved full model is rounded once to the job's dtype, as large as the model it started from;
  the exact fp32 weights stay in the checkpoints.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import torch

from .job import Job
from .modeling import torch_dtype
from .outputs import atomic_write_json


@dataclass(frozen=True)
class Precision:
    """`param_dtype`: the trained (optimizer's) parameters and their AdamW states;
    `compute_dtype`: matmuls and activations of forward and backward; `load_dtype`: what the
    model's weights are loaded as; `master_weights`: fp32 parameters computed in a lower
    precision (autocast or FSDP's policy)."""

    load_dtype: str
    param_dtype: str
    compute_dtype: str
    master_weights: bool


def precision_of(job: Job) -> Precision:
    if job.adapter is None:
        return Precision(load_dtype="fp32", param_dtype="fp32", compute_dtype=job.model.dtype, master_weights=job.model.dtype != "fp32")
    compute = job.adapter.quant.compute_dtype if job.adapter.quant is not None else job.model.dtype
    return Precision(load_dtype=job.model.dtype, param_dtype="fp32", compute_dtype=compute, master_weights=False)


def residual_in_compute_dtype(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """Cast the input embedding's output to `dtype` while autocast is on (training and reference
    passes), so the residual stream starts, and stays, in the compute dtype."""

    def cast(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        if output.is_floating_point() and torch.is_autocast_enabled(output.device.type):
            return output.to(dtype)
        return output

    embeddings = model.get_input_embeddings()
    if embeddings is not None:
        embeddings.register_forward_hook(cast)


def cast_floating(state: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    """Every floating tensor of a state dict in `dtype`. Tied weights (lm_head = embed_tokens)
    share one tensor; each tensor is cast once so they still do and save_pretrained writes the
    tied weight once."""
    cast: dict[tuple[int, int, tuple[int, ...]], torch.Tensor] = {}
    out: dict[str, Any] = {}
    for name, value in state.items():
        if torch.is_tensor(value) and value.is_floating_point():
            key = (value.data_ptr(), value.storage_offset(), tuple(value.shape))
            if key not in cast:
                cast[key] = value.to(dtype)
            value = cast[key]
        out[name] = value
    return out


def write_config_dtype(folder: str, dtype: str) -> None:
    """save_pretrained writes the in-memory model's dtype (fp32 master weights) into config.json;
    the weights written are in the job's dtype, so config.json says so (what from_pretrained
    loads by default)."""
    path = os.path.join(folder, "config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    name = str(torch_dtype(dtype)).removeprefix("torch.")
    for key in ("dtype", "torch_dtype"):
        if key in config:
            config[key] = name
    if "dtype" not in config and "torch_dtype" not in config:
        config["dtype"] = name
    atomic_write_json(path, config)
