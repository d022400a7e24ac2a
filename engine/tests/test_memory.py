"""memory.py: how many decoder layers `gradient_checkpointing: auto` checkpoints for a budget."""

from __future__ import annotations

from kielo_engine.memory import plan

GIB = 1 << 30


def plan_for(tokens: int, budget_gib: float):
    # 32 layers saving 10 KiB per token each (320 KiB per token in all); a checkpointed layer
    # keeps only its 8 KiB input (hidden 4096, bf16); 14 GiB of weights; 1 GiB of optimizer state.
    return plan(
        activation_bytes_per_token=32 * 10 * 1024,
        largest_micro_batch_tokens=tokens,
        allocated_bytes=14 * GIB,
        pending_state_bytes=1 * GIB,
        budget_bytes=int(budget_gib * GIB),
        layers=32,
        layer_input_bytes_per_token=8 * 1024,
    )


def test_no_checkpointing_when_the_step_fits():
    result = plan_for(16384, 126)  # 5.5 GiB of activations
    assert result.layers == 0 and result.estimated_peak_bytes < result.budget_bytes


def test_just_enough_layers_when_it_does_not():
    tokens = 262144  # 80 GiB of activations: over a 100 GiB budget with the weights
    result = plan_for(tokens, 100)
    assert 0 < result.layers < 32
    assert result.estimated_peak_bytes <= result.budget_bytes
    # one layer fewer would not fit: each checkpointed layer saves (10 − 8) KiB per token (+10 %)
    saving = (10 - 8) * 1024 * tokens * 1.1
    assert result.estimated_peak_bytes + saving > result.budget_bytes


def test_the_recomputed_layer_counts_once_any_layer_is_checkpointed():
    # The peak of a checkpointed backward holds one layer's full activations again (10 KiB per
    # token, +10 %): the plan checkpoints more layers than the saving alone would need.
    tokens = 262144
    result = plan_for(tokens, 100)
    gib_over = (14 + 1 + 3 + 80 * 1.1) * GIB - 100 * GIB  # fixed + activations − budget, before any saving
    saving = (10 - 8) * 1024 * tokens * 1.1
    assert result.layers > gib_over / saving
    assert result.estimated_peak_bytes >= 14 * GIB + 10 * 1024 * tokens


def test_every_layer_when_even_that_is_not_enough():
    result = plan_for(1 << 22, 30)
    assert result.layers == 32
    assert "32 of 32 layers" in result.describe()
