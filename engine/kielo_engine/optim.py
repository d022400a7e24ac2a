"""AdamW and the learning-rate schedule (docs/engine.md, "Training loop").

- Weight decay applies to matrices only: parameters with fewer than 2 dimensions (biases, norm
  scales) are not decayed — what transformers' Trainer does by name (bias, LayerNorm), decided
  here by shape so it holds for every architecture (RMSNorm, Gemma norms …).
- The schedules are transformers' `get_{cosine,linear,constant}_schedule_with_warmup` with
  warmup = ceil(warmup_ratio · steps); the lr of step k (1-based) is lr·λ(k−1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .job import Job


def warmup_steps(job: Job) -> int:
    return math.ceil(job.steps * job.optim.warmup_ratio)


def lr_lambda(schedule: str, warmup: int, total: int) -> Callable[[int], float]:
    """transformers' get_{cosine,linear,constant}_schedule_with_warmup, λ(current_step)."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if schedule == "constant":
            return 1.0
        if schedule == "linear":
            return max(0.0, (total - step) / max(1, total - warmup))
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 2.0 * 0.5 * progress)))

    return factor


def make_optimizer(model: nn.Module, job: Job, device: torch.device) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": job.optim.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.AdamW(
        groups,
        lr=job.optim.lr,
        betas=job.optim.betas,
        eps=job.optim.eps,
        fused=device.type == "cuda",
    )


def make_scheduler(optimizer: torch.optim.Optimizer, job: Job) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(job.optim.schedule, warmup_steps(job), job.steps))
