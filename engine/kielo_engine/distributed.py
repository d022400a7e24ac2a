"""One process or many: process group, FSDP2 sharding, reductions and full state dicts.

Under `torchrun` (RANK/WORLD_SIZE set) the engine joins a process group (NCCL on GPUs, gloo on
CPU), shards the model with FSDP2 (`fully_shard` on every decoder layer, then the root) and splits
each optimizer step's micro-batches across ranks (rank r takes r, r+W, …). Without torchrun,
`Dist` is a world of one and every helper is a no-op, so the training loop has a single code path.

A failure or the death of one rank ends every rank within seconds, with that rank's message
(rank_failures.py). Collectives also time out (`KIELO_DIST_TIMEOUT`, seconds, default 1800), a
last resort for a rank that hangs without failing.

Checkpoints are sharded (checkpoint.py: each rank writes its own shards with
torch.distributed.checkpoint); only the final model is gathered, once, to rank 0's CPU memory
(`full_model_state`) to be written in Hugging Face format.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist
from torch import nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

from .rank_failures import failed


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            tdist.barrier()

    def sum(self, values: list[float]) -> list[float]:
        """Sums a few numbers over all ranks (one all-reduce, float64)."""
        if not self.enabled:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
        return t.tolist()

    def any(self, flag: bool) -> bool:
        return self.sum([1.0 if flag else 0.0])[0] > 0

    def close(self) -> None:
        # After a rank failure, tearing down the group waits for peers that may never answer.
        if self.enabled and tdist.is_initialized() and not failed.is_set():
            tdist.destroy_process_group()


def init_distributed() -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not tdist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        tdist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None, timeout=collective_timeout())
    return Dist(rank=rank, world=world, local_rank=local_rank, device=device)


def collective_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=float(os.environ.get("KIELO_DIST_TIMEOUT", "1800")))


def _decoder_layer_classes(model: nn.Module) -> set[str]:
    """transformers names the blocks it never splits (`_no_split_modules`): the decoder layers."""
    for m in model.modules():
        names = getattr(m, "_no_split_modules", None)
        if names:
            return set(names)
    return set()


def shard_model(model: nn.Module, dist: Dist, compute_dtype: torch.dtype | None = None) -> nn.Module:
    """FSDP2: one `fully_shard` unit per decoder layer, then the root (embeddings, norm, head).

    `compute_dtype` (full fine-tuning in bf16): the shards stay fp32 master weights, each unit is
    all-gathered and computed in `compute_dtype`, and gradients are reduce-scattered in fp32
    (`MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=float32)`)."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy() if compute_dtype is None else MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=torch.float32)
    layer_names = _decoder_layer_classes(model)
    layers = [m for m in model.modules() if type(m).__name__ in layer_names]
    if not layers:
        raise RuntimeError("could not find the model's decoder layers to shard (no `_no_split_modules`)")
    for layer in layers:
        fully_shard(layer, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    return model


def set_gradient_sync(model: nn.Module, enabled: bool, dist: Dist) -> None:
    """FSDP2 reduce-scatters gradients after every backward unless told to wait for the last
    micro-batch of the step; accumulating unsharded gradients locally saves communication."""
    if dist.enabled and hasattr(model, "set_requires_gradient_sync"):
        model.set_requires_gradient_sync(enabled)


def only_trainable(model: nn.Module, state: dict[str, Any]) -> dict[str, Any]:
    # `ignore_frozen_params` still lets a frozen weight through under the name of a tied twin
    # (lm_head tied to the embeddings): keep exactly the parameters that train.
    names = {name for name, p in model.named_parameters() if p.requires_grad}
    return {k: v for k, v in state.items() if k in names}


def full_model_state(model: nn.Module, trainable_only: bool) -> dict[str, Any]:
    """The whole model (or its trainable weights), unsharded, on CPU: for the final HF export only.
    Collective under torchrun: every rank calls it; rank 0 writes the result."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=trainable_only)
    state = get_model_state_dict(model, options=options)
    if trainable_only:
        return only_trainable(model, state)
    # A tied weight (lm_head = embeddings) comes back as two gathered copies, which
    # `save_pretrained` could no longer recognise as one: keep the name the model owns it by.
    twins = {n for n, _ in model.named_parameters(remove_duplicate=False)} - {n for n, _ in model.named_parameters()}
    return {k: v for k, v in state.items() if k not in twins}
