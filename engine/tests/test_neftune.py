"""NEFTune: the bound table of the spec, E‖noise‖² = α²/3, training-only noise, per-document mode."""

from __future__ import annotations

import math

import pytest
import torch

from kielo_engine.lora import apply_lora
from kielo_engine.modeling import load_model
from kielo_engine.neftune import attach_neftune, document_lengths_per_token, input_embeddings, neftune_bound


@pytest.mark.parametrize(
    ("alpha", "length", "hidden", "expected"),
    [(5, 512, 4096, 0.0034526698), (5, 1024, 4096, 0.0024414063)],
)
def test_bound_table(alpha, length, hidden, expected):
    assert neftune_bound(alpha, length, hidden) == pytest.approx(expected, abs=1e-10)


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    return load_model(tiny_model_path, "fp32")


def embedding_noise(embedding, ids, draws, **context):
    """`draws` samples of (hooked output − clean output) for the same ids."""
    handle = context.pop("handle")
    with torch.no_grad():
        handle.remove()
        clean = embedding(ids)
        handle._hook = embedding.register_forward_hook(handle._hook_fn)
        samples = []
        for _ in range(draws):
            with handle.documents(context.get("position_ids"), context.get("attention_mask")):
                samples.append(embedding(ids) - clean)
    return torch.stack(samples)


@pytest.mark.parametrize(("alpha", "length"), [(5.0, 16), (5.0, 64), (15.0, 40)])
def test_expected_squared_noise_norm_is_alpha_squared_over_three(tiny, alpha, length):
    embedding = input_embeddings(tiny)
    embedding.train()
    handle = attach_neftune(tiny, alpha, generator=torch.Generator().manual_seed(7))
    try:
        ids = torch.arange(length).remainder(500).unsqueeze(0)
        draws = 400
        noise = embedding_noise(embedding, ids, draws, handle=handle)
    finally:
        handle.remove()
    hidden = noise.size(-1)
    bound = neftune_bound(alpha, length, hidden)
    assert noise.abs().max().item() <= bound * (1 + 1e-6)
    assert noise.abs().max().item() > 0.95 * bound  # the whole interval is used
    energy = noise.pow(2).sum(dim=(1, 2, 3))  # ‖noise‖² of the sequence, per draw
    # Var of one draw's energy is n·Var(u²) = 4α⁴/(45n) for n = L·d uniform elements.
    n = length * hidden
    standard_error = math.sqrt(4 * alpha**4 / (45 * n) / draws)
    assert abs(energy.mean().item() - alpha**2 / 3) < 5 * standard_error


def test_no_noise_in_eval_mode_and_none_after_remove(tiny):
    embedding = input_embeddings(tiny)
    ids = torch.tensor([[1, 5, 9, 13]])
    with torch.no_grad():
        clean = embedding(ids)
        handle = attach_neftune(tiny, 10.0)
        tiny.eval()
        assert torch.equal(embedding(ids), clean)
        tiny.train()
        assert not torch.equal(embedding(ids), clean)
        handle.remove()
        assert torch.equal(embedding(ids), clean)
    tiny.eval()


def test_the_hook_sits_on_the_base_embeddings_of_a_peft_model(tiny_model_path):
    model = apply_lora(load_model(tiny_model_path, "fp32"), r=2, alpha=4, dropout=0.0, target_modules=["q_proj"])
    handle = attach_neftune(model, 5.0, generator=torch.Generator().manual_seed(0))
    ids = torch.tensor([[1, 20, 30, 40, 50]])
    model.train()
    with torch.no_grad():
        noisy = model(ids).logits
        model.eval()
        clean = model(ids).logits
        model.train()
        handle.remove()
        unhooked = model(ids).logits
    assert not torch.allclose(noisy, clean)
    model.eval()
    torch.testing.assert_close(unhooked, clean)


def test_document_lengths_from_position_ids():
    position_ids = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
    attention_mask = torch.tensor([[1] * 10, [1] * 7 + [0] * 3])
    lengths = document_lengths_per_token(position_ids, attention_mask)
    assert lengths.tolist() == [[3, 3, 3, 2, 2, 5, 5, 5, 5, 5], [7] * 10]


def test_per_document_noise_uses_each_documents_own_length(tiny):
    embedding = input_embeddings(tiny)
    embedding.train()
    alpha = 5.0
    handle = attach_neftune(tiny, alpha, per_document=True, generator=torch.Generator().manual_seed(3))
    position_ids = torch.cat([torch.arange(10), torch.arange(30)]).unsqueeze(0)
    ids = torch.arange(40).unsqueeze(0) + 3
    try:
        noise = embedding_noise(embedding, ids, 300, handle=handle, position_ids=position_ids)
    finally:
        handle.remove()
        tiny.eval()
    hidden = noise.size(-1)
    short, long = noise[:, 0, :10], noise[:, 0, 10:]
    assert short.abs().max().item() <= neftune_bound(alpha, 10, hidden) * (1 + 1e-6)
    assert short.abs().max().item() > 0.95 * neftune_bound(alpha, 10, hidden)
    assert long.abs().max().item() <= neftune_bound(alpha, 30, hidden) * (1 + 1e-6)
    # Each document receives the energy it would receive alone: α²/3.
    for part, length in ((short, 10), (long, 30)):
        energy = part.pow(2).sum(dim=(1, 2))
        standard_error = math.sqrt(4 * alpha**4 / (45 * length * hidden) / 300)
        assert abs(energy.mean().item() - alpha**2 / 3) < 5 * standard_error


def test_hf_semantics_for_a_packed_batch_use_the_flattened_length(tiny):
    embedding = input_embeddings(tiny)
    embedding.train()
    handle = attach_neftune(tiny, 5.0, generator=torch.Generator().manual_seed(4))
    ids = torch.arange(40).unsqueeze(0) + 3
    try:
        noise = embedding_noise(embedding, ids, 20, handle=handle)
    finally:
        handle.remove()
        tiny.eval()
    assert noise.abs().max().item() <= neftune_bound(5.0, 40, noise.size(-1)) * (1 + 1e-6)


def test_fp32_noise_equals_transformers_own_hook_draw_for_draw(tiny):
    """transformers' neftune_post_forward_hook as a peer: same global seed → the same noise."""
    from transformers.integrations.neftune import neftune_post_forward_hook

    embedding = input_embeddings(tiny)
    embedding.train()
    ids = torch.tensor([[1, 403, 407, 261, 378, 432], [1, 426, 338, 401, 396, 267]])
    try:
        with torch.no_grad():
            embedding.neftune_noise_alpha = 5.0
            hf_hook = embedding.register_forward_hook(neftune_post_forward_hook)
            torch.manual_seed(123)
            theirs = embedding(ids)
            hf_hook.remove()
            handle = attach_neftune(tiny, 5.0)  # no generator: torch's global one, like transformers
            torch.manual_seed(123)
            ours = embedding(ids)
            handle.remove()
            clean = embedding(ids)
    finally:
        del embedding.neftune_noise_alpha
        tiny.eval()
    assert not torch.equal(ours, clean)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-7)
