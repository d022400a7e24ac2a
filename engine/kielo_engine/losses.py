"""The training losses: SFT token cross-entropy, DPO and its variants, SimPO and ORPO.

All reductions happen in fp32 whatever the dtype of the logits: bf16 logits are upcast before
`logsumexp`, because a bf16 log-softmax loses about two decimal digits on vocabularies of 10⁵
tokens (TRL keeps bf16 there; we deliberately do not — see docs/engine.md, "Numerics").

Conventions shared with the training loop (docs/formats.md, specs/training.md §2–§4):
- `labels` / `completion_mask` are aligned with `input_ids` and NOT shifted: position t's label is
  token t. The shift happens here: `logits[:, :-1]` predict `tokens[:, 1:]`.
- Preference batches are `[chosen…; rejected…]`: the first half of the rows are the chosen
  sequences and the second half the rejected ones, in the same pair order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE_INDEX = -100

DPO_LOSS_TYPES = ("sigmoid", "robust", "hinge", "ipo", "sigmoid_norm")


def count_on_device(like: Tensor, count: int) -> Tensor:
    """A host integer as an fp64 scalar on `like`'s device, to sit next to device sums. Filled by a
    kernel: `new_tensor(count)` copies from CPU memory, and on a GPU that made the host wait for
    the micro-batch's backward to finish before it could queue the next one."""
    return torch.full((), float(count), dtype=torch.float64, device=like.device)


def at_least_fp32(x: Tensor) -> Tensor:
    """fp64 stays fp64 (exact tests); everything else is computed in fp32."""
    return x if x.dtype == torch.float64 else x.float()


def selective_log_softmax(logits: Tensor, index: Tensor) -> Tensor:
    """log_softmax(logits)[..., index] in fp32, without materialising the full log-softmax.

    Equal to TRL's `selective_log_softmax` for fp32/fp64 logits (gather minus logsumexp, one row at
    a time so the peak extra memory is one sequence's logits). Lower-precision logits are upcast
    row by row to fp32 instead of TRL's bf16 `log_softmax` fallback.
    """
    if logits.shape[:-1] != index.shape:
        raise ValueError(f"index shape {tuple(index.shape)} does not match logits {tuple(logits.shape)}")
    compute_dtype = torch.float64 if logits.dtype == torch.float64 else torch.float32
    if logits.dim() == 1:
        row = logits.to(compute_dtype)
        return row.gather(-1, index.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(row, dim=-1)
    rows = []
    for row_logits, row_index in zip(logits, index, strict=True):
        row = row_logits.to(compute_dtype)
        selected = row.gather(-1, row_index.unsqueeze(-1)).squeeze(-1)
        rows.append(selected - torch.logsumexp(row, dim=-1))
    return torch.stack(rows)


def sft_loss_sum(logits: Tensor, labels: Tensor) -> tuple[Tensor, int]:
    """Sum of token NLL over non-ignored shifted labels, and how many tokens were counted.

    `labels` is aligned with the input (−100 = not a target). The caller divides the sum by the
    number of trained tokens of the whole accumulation step (all micro-batches, all ranks), which is
    transformers' `num_items_in_batch` semantics (specs/training.md §4).
    """
    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(f"expected logits [B, T, V] and labels [B, T], got {tuple(logits.shape)} and {tuple(labels.shape)}")
    shift_logits = logits[:, :-1, :]
    shift_labels = labels[:, 1:]
    counted = int((shift_labels != IGNORE_INDEX).sum().item())
    if counted == 0:
        # Keep the graph connected (zero gradient) so a micro-batch without targets still works
        # with DDP/FSDP, which expect every rank to run backward through the same parameters.
        return at_least_fp32(shift_logits.sum() * 0.0), 0
    loss_sum = F.cross_entropy(
        at_least_fp32(shift_logits).reshape(-1, shift_logits.size(-1)),
        shift_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return loss_sum, counted


def per_token_logps(logits: Tensor, input_ids: Tensor, completion_mask: Tensor) -> tuple[Tensor, Tensor]:
    """Shifted per-token log-probs [B, T−1] (0 outside the completion) and the shifted mask."""
    shift_logits = logits[:, :-1, :]
    shift_ids = input_ids[:, 1:]
    shift_mask = completion_mask[:, 1:].to(torch.bool)
    logps = selective_log_softmax(shift_logits, shift_ids)
    return logps.masked_fill(~shift_mask, 0.0), shift_mask


def sequence_logps(logits: Tensor, input_ids: Tensor, completion_mask: Tensor) -> Tensor:
    """Σ over completion tokens of log p(token | prefix), one value per row ([B], fp32)."""
    logps, _ = per_token_logps(logits, input_ids, completion_mask)
    return logps.sum(dim=1)


def completion_lengths(completion_mask: Tensor) -> Tensor:
    """|y| per row: the number of completion tokens (what IPO and sigmoid_norm divide by)."""
    return completion_mask[:, 1:].sum(dim=1)


def dpo_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    ref_chosen: Tensor,
    ref_rejected: Tensor,
    *,
    beta: float,
    loss_type: str = "sigmoid",
    label_smoothing: float = 0.0,
    chosen_lengths: Tensor | None = None,
    rejected_lengths: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-pair DPO losses [B] and the logged rewards β·ρ_w, β·ρ_l (detached).

    Inputs are summed completion log-probs (`sequence_logps`). `sigmoid` with label_smoothing ε>0
    is cDPO, −(1−ε)·log σ(βΔ) − ε·log σ(−βΔ), as TRL ≤ 0.28, torchtune, LLaMA-Factory and Liger
    compute it. TRL ≥ 0.29 silently ignores ε for `sigmoid`; we do not (docs/engine.md).
    """
    if loss_type not in DPO_LOSS_TYPES:
        raise ValueError(f"unknown DPO loss type {loss_type!r}; expected one of {', '.join(DPO_LOSS_TYPES)}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
    chosen_logratios = at_least_fp32(policy_chosen) - at_least_fp32(ref_chosen)
    rejected_logratios = at_least_fp32(policy_rejected) - at_least_fp32(ref_rejected)
    delta = chosen_logratios - rejected_logratios

    if loss_type == "sigmoid":
        losses = -(1.0 - label_smoothing) * F.logsigmoid(beta * delta) - label_smoothing * F.logsigmoid(-beta * delta)
    elif loss_type == "robust":
        losses = (
            -(1.0 - label_smoothing) * F.logsigmoid(beta * delta) + label_smoothing * F.logsigmoid(-beta * delta)
        ) / (1.0 - 2.0 * label_smoothing)
    elif loss_type == "hinge":
        losses = torch.relu(1.0 - beta * delta)
    else:
        if chosen_lengths is None or rejected_lengths is None:
            raise ValueError(f"loss type {loss_type!r} needs chosen_lengths and rejected_lengths")
        chosen_avg = chosen_logratios / chosen_lengths.to(chosen_logratios.dtype).clamp(min=1.0)
        rejected_avg = rejected_logratios / rejected_lengths.to(rejected_logratios.dtype).clamp(min=1.0)
        if loss_type == "ipo":
            losses = (chosen_avg - rejected_avg - 1.0 / (2.0 * beta)) ** 2
        else:  # sigmoid_norm: length-normalised DPO with a reference
            losses = -F.logsigmoid(beta * (chosen_avg - rejected_avg))

    chosen_rewards = beta * chosen_logratios.detach()
    rejected_rewards = beta * rejected_logratios.detach()
    return losses, chosen_rewards, rejected_rewards


def simpo_loss(chosen_mean_logps: Tensor, rejected_mean_logps: Tensor, *, beta: float, gamma: float) -> Tensor:
    """Reference-free SimPO per pair: −log σ(β(ℓ̄_w − ℓ̄_l) − γ), ℓ̄ = mean completion log-prob."""
    return -F.logsigmoid(beta * (at_least_fp32(chosen_mean_logps) - at_least_fp32(rejected_mean_logps)) - gamma)


def orpo_log_odds(chosen_mean_logps: Tensor, rejected_mean_logps: Tensor) -> Tensor:
    """ORPO log odds ratio: (ℓ̄_w − ℓ̄_l) − [log(1 − e^ℓ̄_w) − log(1 − e^ℓ̄_l)]."""
    w = at_least_fp32(chosen_mean_logps)
    l = at_least_fp32(rejected_mean_logps)  # noqa: E741 — the paper's name
    return (w - l) - (torch.log1p(-torch.exp(w)) - torch.log1p(-torch.exp(l)))


def orpo_loss(chosen_mean_logps: Tensor, rejected_mean_logps: Tensor, *, beta: float) -> Tensor:
    """ORPO per pair in LLaMA-Factory's form: −ℓ̄_w + β·(−log σ(log_odds)).

    TRL's form (NLL of the chosen reply − β·mean log σ(log_odds)) is the same when the NLL term is
    the chosen mean log-prob, as here.
    """
    return -at_least_fp32(chosen_mean_logps) - beta * F.logsigmoid(orpo_log_odds(chosen_mean_logps, rejected_mean_logps))
