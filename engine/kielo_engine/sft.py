"""The SFT objective: token cross-entropy over the trained tokens of a step.

The loss of a step is Σ token NLL over every micro-batch of every rank / the trained tokens of the
whole step (transformers' `num_items_in_batch` semantics, specs/training.md §4): each micro-batch
backpropagates its own sum scaled by world / trained-in-step (FSDP averages gradients over ranks;
× world turns that average back into the sum).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from .data import CompiledData, ModelBatch
from .losses import count_on_device

TokenLogps = Callable[[nn.Module, ModelBatch], Tensor]


class SftObjective:
    data_kind = "sft"
    # Per-step sums, reduced over micro-batches and ranks in one all-reduce.
    sums = ("loss", "trained")

    def __init__(self, token_logps: TokenLogps, world: int):
        self.token_logps = token_logps
        self.world = world

    def step_denominator(self, data: CompiledData, sequences: list[int]) -> int:
        return data.trained_tokens(sequences)

    def train_micro_batch(self, model: nn.Module, batch: ModelBatch, denominator: int, weight: float = 1.0) -> Tensor:
        loss_sum = -self.token_logps(model, batch).sum()
        (loss_sum * (weight * self.world / max(1, denominator))).backward()
        return torch.stack([loss_sum.detach().double(), count_on_device(loss_sum, len(batch.targets))])

    def eval_batch(self, model: nn.Module, batch: ModelBatch) -> Tensor:
        loss_sum = -self.token_logps(model, batch).sum()
        return torch.stack([loss_sum.double(), count_on_device(loss_sum, len(batch.targets))])

    def step_fields(self, sums: dict[str, float], denominator: int) -> dict[str, Any]:
        return {"loss": sums["loss"] / max(1, denominator), "trained_tokens": denominator}

    def eval_fields(self, sums: dict[str, float]) -> dict[str, Any]:
        return {"loss": sums["loss"] / max(1.0, sums["trained"]), "trained_tokens": int(sums["trained"])}
