"""The DPO objective and its reference model.

The loss of a step is Σ per-pair loss / pairs of the step (all micro-batches, all ranks); TRL's
mean per micro-batch ÷ accumulation steps is the same when micro-batches are equal. One function
(`DpoObjective.pair_terms`) computes policy and reference log-probs and the loss for training and
for evaluation alike.

The reference runs in eval mode (no dropout), as one of (job `dpo.reference`):
- `adapter-disabled`: the policy with its LoRA adapter switched off — or, after LoRA SFT, with the
  initial adapter loaded a second time as a frozen "ref" adapter (as TRL does);
- `frozen-copy`: a frozen copy of the initial policy (full fine-tuning);
- `precomputed`: log-probs of the initial policy computed once before step 1 and stored in the job
  folder (`ref_logps.bin`, `ref_logps.eval.bin`: float64 [pairs, 2] = chosen, rejected), so no
  reference forward runs during training and a resumed run reuses them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .data import CompiledData, ModelBatch
from .errors import EngineError
from .forward import sequence_sums, target_counts
from .job import DpoSpec
from .losses import count_on_device, dpo_loss
from .outputs import atomic_write_bytes

REF_ADAPTER = "ref"
TokenLogps = Callable[[nn.Module, ModelBatch], Tensor]


@contextlib.contextmanager
def reference_mode(model: nn.Module, reference: str) -> Iterator[None]:
    """The policy as its own DPO reference: adapter off, or the frozen "ref" adapter active."""
    was_training = model.training
    model.eval()
    try:
        if reference == "adapter-disabled" and REF_ADAPTER in getattr(model, "peft_config", {}):
            model.set_adapter(REF_ADAPTER, inference_mode=True)
            try:
                yield
            finally:
                model.set_adapter("default")
        elif reference == "adapter-disabled":
            with model.disable_adapter():
                yield
        else:
            yield
    finally:
        model.train(was_training)


def pair_sums(token_values: Tensor, batch: ModelBatch) -> tuple[Tensor, Tensor]:
    """Per-token values summed per reply: (chosen [pairs], rejected [pairs])."""
    chosen, rejected = sequence_sums(token_values, batch.targets, batch.sequences).chunk(2)
    return chosen, rejected


class DpoReference:
    def __init__(self, kind: str, token_logps: TokenLogps, frozen: nn.Module | None):
        self.kind = kind
        self.token_logps = token_logps
        self.frozen = frozen
        # split → float64 [pairs, 2] when precomputed
        self.stored: dict[str, Tensor | None] = {"train": None, "eval": None}

    def logps(self, model: nn.Module, batch: ModelBatch, split: str) -> tuple[Tensor, Tensor]:
        stored = self.stored[split]
        if stored is not None:
            ref = stored[batch.pair_indices].to(batch.targets.ids.device, torch.float32)
            return ref[:, 0], ref[:, 1]
        with torch.no_grad():
            if self.frozen is not None:
                values = self.token_logps(self.frozen, batch)
            else:
                with reference_mode(model, self.kind):
                    values = self.token_logps(model, batch)
        return pair_sums(values, batch)

    def precompute(
        self,
        model: nn.Module,
        data: CompiledData,
        path: str,
        batches: list[tuple[ModelBatch, bool]],
        sum_over_ranks: Callable[[list[float]], list[float]],
        write: bool,
        resumed_from: int,
        checkpoints_dir: str,
    ) -> Tensor:
        """One pass of the initial policy over every pair; stored as float64 [pairs, 2] at `path`
        and reused by a resumed run. `batches`: this rank's share, (batch, real) — a repeated
        batch that only keeps ranks in step is not real."""
        pairs = data.sequences
        if os.path.isfile(path) and os.path.getsize(path) == pairs * 2 * 8:
            return torch.from_numpy(np.fromfile(path, dtype="<f8").reshape(pairs, 2).copy())
        if resumed_from > 0:
            raise EngineError(
                "bad-job",
                f"{path} is missing or has the wrong size, but the run resumes from step {resumed_from}: the reference must be the policy before step 1",
                f"remove {checkpoints_dir} to start the run over",
            )
        out = torch.zeros(pairs, 2, dtype=torch.float64)
        with torch.no_grad(), reference_mode(model, "precomputed"):
            for batch, real in batches:
                if real:
                    chosen, rejected = pair_sums(self.token_logps(model, batch), batch)
                    out[batch.pair_indices, 0] = chosen.double().cpu()
                    out[batch.pair_indices, 1] = rejected.double().cpu()
                else:
                    self.token_logps(model, batch)
        out = torch.tensor(sum_over_ranks(out.flatten().tolist()), dtype=torch.float64).reshape(pairs, 2)
        if write:
            atomic_write_bytes(path, out.numpy().astype("<f8").tobytes())
        return out


class DpoObjective:
    data_kind = "preference"
    sums = ("loss", "pairs", "rewards_chosen", "rewards_rejected", "correct")

    def __init__(self, spec: DpoSpec, token_logps: TokenLogps, world: int, reference: DpoReference):
        self.spec = spec
        self.token_logps = token_logps
        self.world = world
        self.reference = reference

    def step_denominator(self, data: CompiledData, sequences: list[int]) -> int:
        return len(sequences)

    def pair_terms(self, model: nn.Module, batch: ModelBatch, split: str) -> tuple[Tensor, Tensor, Tensor]:
        """Per-pair losses and the logged rewards β·ρ_w, β·ρ_l of one batch."""
        ref_chosen, ref_rejected = self.reference.logps(model, batch, split)
        chosen, rejected = pair_sums(self.token_logps(model, batch), batch)
        chosen_len, rejected_len = target_counts(batch.targets, batch.sequences).chunk(2)
        spec = self.spec
        return dpo_loss(
            chosen, rejected, ref_chosen, ref_rejected,
            beta=spec.beta, loss_type=spec.loss, label_smoothing=spec.label_smoothing,
            chosen_lengths=chosen_len, rejected_lengths=rejected_len,
        )

    @staticmethod
    def _sums(losses: Tensor, r_chosen: Tensor, r_rejected: Tensor) -> Tensor:
        return torch.stack([
            losses.detach().sum().double(),
            count_on_device(losses, losses.numel()),
            r_chosen.sum().double(),
            r_rejected.sum().double(),
            (r_chosen > r_rejected).sum().double(),
        ])

    def train_micro_batch(self, model: nn.Module, batch: ModelBatch, denominator: int, weight: float = 1.0) -> Tensor:
        losses, r_chosen, r_rejected = self.pair_terms(model, batch, "train")
        (losses.sum() * (weight * self.world / denominator)).backward()
        return self._sums(losses, r_chosen, r_rejected)

    def eval_batch(self, model: nn.Module, batch: ModelBatch) -> Tensor:
        return self._sums(*self.pair_terms(model, batch, "eval"))

    @staticmethod
    def _fields(sums: dict[str, float], pairs: float) -> dict[str, Any]:
        n = max(1.0, pairs)
        return {
            "loss": sums["loss"] / n,
            "pairs": int(sums["pairs"]),
            "rewards_chosen": sums["rewards_chosen"] / n,
            "rewards_rejected": sums["rewards_rejected"] / n,
            "margins": (sums["rewards_chosen"] - sums["rewards_rejected"]) / n,
            "accuracy": sums["correct"] / n,
        }

    def step_fields(self, sums: dict[str, float], denominator: int) -> dict[str, Any]:
        return self._fields(sums, denominator)

    def eval_fields(self, sums: dict[str, float]) -> dict[str, Any]:
        return self._fields(sums, sums["pairs"])
