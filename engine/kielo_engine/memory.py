"""Gradient checkpointing only where memory requires it (`gradient_checkpointing: "auto"`).

Checkpointing a decoder layer frees its saved activations and recomputes its forward during the
backward pass: about a third more compute for the layers it is applied to. An H200 has 141 GB;
a LoRA step on a 7B model often fits without any. So with "auto" the engine measures instead of
guessing:

1. a probe forward pass (grad enabled, no backward, the RNG state restored afterwards so the run
   stays reproducible) on the start of the first micro-batch gives the activation bytes each
   decoder layer saves per token;
2. the peak of a step is estimated as what is allocated now + the optimizer states and gradients
   still to come + per-token activations × the largest micro-batch of the schedule + a margin
   for the head's chunk and allocator slack;
3. if that exceeds the budget (90 % of the GPU), just enough layers are checkpointed (a
   checkpointed layer keeps only its input, and the backward pass recomputes one such layer at a
   time) — the first ones, since every layer costs the same.

Only on a GPU in one process. On the CPU "auto" means no checkpointing; under torchrun (sharded
parameters make the probe's numbers per rank) it means checkpointing every layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

BUDGET_FRACTION = 0.90
PROBE_TOKENS = 1024
SHORT_PROBE_TOKENS = 128
# Allocator fragmentation, the head's logits chunk (forward.CHUNK_BYTES), backward transients:
# 3 GiB, or a tenth of a smaller budget.
MARGIN_BYTES = 3 << 30
MARGIN_FRACTION = 0.10


def memory_budget(device: torch.device, limit_gib: float | None) -> int:
    """What a step may use: 90 % of the GPU, or of `memory_limit_gib` when the job sets one (then
    also enforced: the allocator raises out-of-memory beyond it, as on a smaller GPU)."""
    total = torch.cuda.get_device_properties(device).total_memory
    if limit_gib is None:
        return int(total * BUDGET_FRACTION)
    limit = min(total, int(limit_gib * (1 << 30)))
    torch.cuda.set_per_process_memory_fraction(limit / total, device)
    return int(limit * BUDGET_FRACTION)


@dataclass(frozen=True)
class CheckpointPlan:
    layers: int  # decoder layers checkpointed (the first ones)
    total_layers: int
    estimated_peak_bytes: int
    budget_bytes: int
    activation_bytes_per_token: int  # all layers, no checkpointing

    def describe(self) -> str:
        gib = 1 << 30
        return (
            f"{self.layers} of {self.total_layers} layers checkpointed; estimated peak {self.estimated_peak_bytes / gib:.1f} GiB "
            f"of a {self.budget_bytes / gib:.1f} GiB budget ({self.activation_bytes_per_token / 1024:.0f} KiB of activations per token)"
        )


def decoder_layers(model: nn.Module) -> list[nn.Module]:
    from transformers.modeling_layers import GradientCheckpointingLayer

    return [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]


def set_checkpointed_layers(model: nn.Module, count: int) -> None:
    """Checkpoint the first `count` decoder layers (non-reentrant), the rest not at all."""
    if count <= 0:
        return
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    for index, layer in enumerate(decoder_layers(model)):
        layer.gradient_checkpointing = index < count


def auto_plan(
    probe_model: nn.Module,
    model: nn.Module,
    *,
    probe_ids: np.ndarray,
    largest_micro_batch_tokens: int,
    flat: bool,
    device: torch.device,
    layer_input_bytes_per_token: int,
    budget_bytes: int,
) -> CheckpointPlan:
    """Measure with a probe forward of `probe_model` (the decoder, or the whole model), then plan.
    The probe is one document of the data's first tokens, in the layout the run uses."""
    def probe(n: int) -> int:
        inputs: dict = {"input_ids": torch.from_numpy(probe_ids[:n])[None].to(device), "position_ids": torch.arange(n, device=device)[None]}
        if flat:
            bounds = torch.tensor([0, n], dtype=torch.int32, device=device)
            inputs.update(cu_seq_lens_q=bounds, cu_seq_lens_k=bounds, max_length_q=n, max_length_k=n)
        return measure_activations(probe_model, inputs, n, device)

    # A probe without checkpointing keeps every layer's activations: under a tight memory limit
    # (QLoRA 7B in 8 GiB) 1,024 tokens of them alone would not fit. A short probe first; the full
    # one only where it takes at most half of what is left.
    per_token = probe(min(len(probe_ids), SHORT_PROBE_TOKENS))
    headroom = budget_bytes - torch.cuda.memory_allocated(device)
    if len(probe_ids) > SHORT_PROBE_TOKENS and per_token * len(probe_ids) <= headroom / 2:
        per_token = probe(len(probe_ids))
    return plan(
        activation_bytes_per_token=per_token,
        largest_micro_batch_tokens=largest_micro_batch_tokens,
        allocated_bytes=torch.cuda.memory_allocated(device),
        pending_state_bytes=optimizer_state_bytes(model),
        budget_bytes=budget_bytes,
        layers=len(decoder_layers(model)),
        layer_input_bytes_per_token=layer_input_bytes_per_token,
    )


def measure_activations(model: nn.Module, inputs: dict, tokens: int, device: torch.device) -> int:
    """Bytes autograd keeps per token for a forward pass of `inputs` (no backward)."""
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    with torch.random.fork_rng(devices=[device]):
        out = model(**inputs, use_cache=False)
        torch.cuda.synchronize(device)
        after = torch.cuda.memory_allocated(device)
        del out
    torch.cuda.empty_cache()
    return max(0, after - before) // max(1, tokens)


def plan(
    *,
    activation_bytes_per_token: int,
    largest_micro_batch_tokens: int,
    allocated_bytes: int,
    pending_state_bytes: int,
    budget_bytes: int,
    layers: int,
    layer_input_bytes_per_token: int,
) -> CheckpointPlan:
    """How many layers to checkpoint so that the estimated peak stays inside the budget."""
    budget = budget_bytes
    fixed = allocated_bytes + pending_state_bytes + min(MARGIN_BYTES, int(MARGIN_FRACTION * budget))
    per_layer = activation_bytes_per_token / max(1, layers)
    saving = max(0.0, per_layer - layer_input_bytes_per_token) * largest_micro_batch_tokens
    activations = activation_bytes_per_token * largest_micro_batch_tokens * (1 + MARGIN_FRACTION)
    # Once any layer is checkpointed, the backward pass recomputes one such layer's forward at a
    # time: its full activations are alive again on top of what the other layers keep.
    recompute = per_layer * largest_micro_batch_tokens * (1 + MARGIN_FRACTION)
    count = 0
    if fixed + activations > budget and saving > 0:
        count = min(layers, math.ceil((fixed + activations + recompute - budget) / (saving * (1 + MARGIN_FRACTION))))
    elif fixed + activations > budget:
        count = layers
    peak = fixed + activations - count * saving * (1 + MARGIN_FRACTION) + (recompute if count > 0 else 0)
    return CheckpointPlan(count, layers, int(peak), budget, int(activation_bytes_per_token))


def optimizer_state_bytes(model: nn.Module) -> int:
    """AdamW's two moments and the gradients of the trainable parameters, not allocated yet at
    the probe: 3 × the trainable parameters' bytes (fp32 for master weights and adapters)."""
    return sum(3 * p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
