"""The spec's test vectors (specs/training.md §6, computed independently with numpy) and loss properties."""

from __future__ import annotations

import math

import pytest
import torch

from kielo_engine.losses import (
    completion_lengths,
    dpo_loss,
    orpo_log_odds,
    orpo_loss,
    selective_log_softmax,
    sequence_logps,
    sft_loss_sum,
    simpo_loss,
)

TOY_LOGITS = torch.tensor(
    [
        [0.0, 0.5, 1.0, -0.5, 0.2],
        [0.3, -0.2, 1.5, 0.0, 0.1],
        [-1.0, 0.0, 0.4, 0.2, 2.0],
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ],
    dtype=torch.float32,
).unsqueeze(0)
TOY_IDS = torch.tensor([[1, 3, 2, 4]])
TOY_COMPLETION = torch.tensor([[0, 0, 1, 1]])


def test_selective_log_softmax_matches_the_spec_per_token_values():
    shifted = selective_log_softmax(TOY_LOGITS[:, :-1], TOY_IDS[:, 1:])
    expected = torch.tensor([[-2.4733775171, -0.6696763121, -0.4397491417]])
    torch.testing.assert_close(shifted, expected, rtol=0, atol=1e-7)


def test_selective_log_softmax_equals_log_softmax_gather_on_random_logits():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, 50, generator=generator, dtype=torch.float64) * 4
    index = torch.randint(0, 50, (3, 7), generator=generator)
    naive = logits.log_softmax(-1).gather(-1, index.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(selective_log_softmax(logits, index), naive, rtol=0, atol=1e-12)


def test_selective_log_softmax_upcasts_bf16_logits_to_fp32():
    generator = torch.Generator().manual_seed(1)
    logits = (torch.randn(2, 5, 1000, generator=generator) * 3).to(torch.bfloat16)
    index = torch.randint(0, 1000, (2, 5), generator=generator)
    result = selective_log_softmax(logits, index)
    assert result.dtype == torch.float32
    exact = logits.double().log_softmax(-1).gather(-1, index.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(result.double(), exact, rtol=0, atol=1e-5)


def test_sequence_logp_of_the_toy_sequence():
    value = sequence_logps(TOY_LOGITS, TOY_IDS, TOY_COMPLETION)
    assert value.shape == (1,)
    assert value.item() == pytest.approx(-1.1094254538, abs=1e-7)


def test_completion_only_and_full_cross_entropy_of_the_toy_sequence():
    labels = TOY_IDS.masked_fill(TOY_COMPLETION == 0, -100)
    total, count = sft_loss_sum(TOY_LOGITS, labels)
    assert count == 2
    assert (total / count).item() == pytest.approx(0.5547127269, abs=1e-7)
    total, count = sft_loss_sum(TOY_LOGITS, TOY_IDS)
    assert count == 3
    assert (total / count).item() == pytest.approx(1.1942676, abs=1e-6)


def test_sft_loss_sum_adds_up_over_micro_batches_like_one_batch():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(8, 9, 30, generator=generator)
    labels = torch.randint(0, 30, (8, 9), generator=generator)
    labels[torch.rand(8, 9, generator=generator) < 0.4] = -100
    whole, whole_count = sft_loss_sum(logits, labels)
    parts = [sft_loss_sum(logits[i : i + 2], labels[i : i + 2]) for i in range(0, 8, 2)]
    assert sum(c for _, c in parts) == whole_count
    torch.testing.assert_close(sum(s for s, _ in parts), whole, rtol=1e-6, atol=1e-5)


def test_sft_loss_sum_without_targets_is_zero_and_differentiable():
    logits = torch.randn(1, 4, 5, requires_grad=True)
    total, count = sft_loss_sum(logits, torch.full((1, 4), -100))
    assert count == 0 and total.item() == 0.0
    total.backward()
    assert logits.grad is not None and torch.all(logits.grad == 0)


def dpo_inputs(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return dict(
        policy_chosen=torch.tensor([-12.0], dtype=dtype),
        policy_rejected=torch.tensor([-15.0], dtype=dtype),
        ref_chosen=torch.tensor([-13.0], dtype=dtype),
        ref_rejected=torch.tensor([-14.0], dtype=dtype),
    )


DPO_INPUTS = dpo_inputs(torch.float32)
LENGTHS = dict(chosen_lengths=torch.tensor([10]), rejected_lengths=torch.tensor([12]))


@pytest.mark.parametrize(
    ("loss_type", "label_smoothing", "expected"),
    [
        ("sigmoid", 0.0, 0.5981388694),
        ("sigmoid", 0.1, 0.6181388694),  # cDPO
        ("robust", 0.1, 0.5731388694),
        ("hinge", 0.0, 0.8),
        ("ipo", 0.0, 23.2002777778),
        ("sigmoid_norm", 0.0, 0.6840225272),
    ],
)
def test_dpo_loss_vectors(loss_type, label_smoothing, expected):
    # fp64: the spec's 10 digits exactly; fp32: to fp32 precision (a few ulps).
    for dtype, rel in ((torch.float64, 1e-10), (torch.float32, 1e-6)):
        losses, chosen, rejected = dpo_loss(
            **dpo_inputs(dtype), beta=0.1, loss_type=loss_type, label_smoothing=label_smoothing, **LENGTHS
        )
        assert losses.item() == pytest.approx(expected, rel=rel)
        assert chosen.item() == pytest.approx(0.1, rel=rel)
        assert rejected.item() == pytest.approx(-0.1, rel=rel)
        assert (chosen - rejected).item() == pytest.approx(0.2, rel=rel)


def test_dpo_loss_rejects_what_it_cannot_compute():
    with pytest.raises(ValueError, match="needs chosen_lengths"):
        dpo_loss(**DPO_INPUTS, beta=0.1, loss_type="ipo")
    with pytest.raises(ValueError, match="unknown DPO loss"):
        dpo_loss(**DPO_INPUTS, beta=0.1, loss_type="kto")
    with pytest.raises(ValueError, match="label_smoothing"):
        dpo_loss(**DPO_INPUTS, beta=0.1, loss_type="robust", label_smoothing=0.5)


def test_dpo_sigmoid_gradient_is_minus_beta_sigma_of_minus_beta_delta():
    chosen = torch.tensor([-12.0], requires_grad=True)
    losses, _, _ = dpo_loss(chosen, DPO_INPUTS["policy_rejected"], DPO_INPUTS["ref_chosen"], DPO_INPUTS["ref_rejected"], beta=0.1)
    losses.sum().backward()
    # d/dx softplus(−βΔ) = −β·σ(−βΔ), Δ = 2
    assert chosen.grad.item() == pytest.approx(-0.1 / (1 + math.exp(0.2)), abs=1e-8)


def test_simpo_and_orpo_vectors():
    chosen, rejected = torch.tensor([-1.2], dtype=torch.float64), torch.tensor([-1.25], dtype=torch.float64)
    assert simpo_loss(chosen, rejected, beta=2.0, gamma=0.5).item() == pytest.approx(0.9130152524, rel=1e-9)
    assert orpo_log_odds(chosen, rejected).item() == pytest.approx(0.0708028528, rel=1e-8)
    assert orpo_loss(chosen, rejected, beta=0.1).item() == pytest.approx(1.2658372254, rel=1e-9)
    # fp32 inputs: the log-odds lose digits to cancellation; the loss stays within 1e-6.
    assert orpo_loss(chosen.float(), rejected.float(), beta=0.1).item() == pytest.approx(1.2658372254, rel=1e-6)


def test_completion_lengths_count_shifted_completion_tokens():
    mask = torch.tensor([[0, 0, 1, 1, 1, 0], [0, 1, 1, 0, 0, 0]])
    assert completion_lengths(mask).tolist() == [3, 2]
