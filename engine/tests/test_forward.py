"""forward.py: log-probs of the trained tokens only (chunked head + fp32 log-softmax, backward that
recomputes), flat batches, and the choice of attention — against plain autograd on full logits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import kielo_engine.forward as forward
from conftest import CompiledSet, Doc, synthetic_sft, write_compiled
from kielo_engine.data import CompiledData
from kielo_engine.forward import choose_attention, decoder_and_head, linear_token_logps, token_logps
from kielo_engine.lora import apply_lora
from kielo_engine.modeling import load_model


def reference_logps(hidden, weight, bias, ids):
    logits = hidden.double() @ weight.double().t()
    if bias is not None:
        logits = logits + bias.double()
    return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, None]).squeeze(-1)


@pytest.mark.parametrize("with_bias", [False, True])
def test_linear_token_logps_and_its_gradients_equal_plain_autograd(monkeypatch, with_bias):
    # Small chunks, so that several chunks and a ragged last one are exercised.
    monkeypatch.setattr(forward, "CHUNK_BYTES", 4 * 50 * 7)
    torch.manual_seed(0)
    n, hidden_size, vocab = 45, 16, 50
    head = nn.Linear(hidden_size, vocab, bias=with_bias)
    hidden = torch.randn(n, hidden_size, requires_grad=True)
    ids = torch.randint(0, vocab, (n,))
    weights = torch.randn(n)  # an arbitrary upstream gradient, as DPO gives

    ours = linear_token_logps(hidden, head, ids)
    assert ours.dtype == torch.float32 and ours.shape == (n,)
    (ours * weights).sum().backward()
    ours_grads = [hidden.grad.clone(), head.weight.grad.clone()] + ([head.bias.grad.clone()] if with_bias else [])

    hidden64 = hidden.detach().double().requires_grad_()
    w64 = head.weight.detach().double().requires_grad_()
    b64 = head.bias.detach().double().requires_grad_() if with_bias else None
    ref = reference_logps(hidden64, w64, b64, ids)
    (ref * weights.double()).sum().backward()
    ref_grads = [hidden64.grad, w64.grad] + ([b64.grad] if with_bias else [])

    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    for got, want in zip(ours_grads, ref_grads):
        torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-5)


def test_linear_token_logps_under_autocast_computes_in_bf16_and_reaches_fp32_weights():
    torch.manual_seed(1)
    head = nn.Linear(32, 64, bias=False)  # fp32 master weights
    hidden = torch.randn(20, 32, requires_grad=True)
    ids = torch.randint(0, 64, (20,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = linear_token_logps(hidden, head, ids)
    assert ours.dtype == torch.float32
    ours.sum().backward()
    assert head.weight.grad is not None and head.weight.grad.dtype == torch.float32
    ref = reference_logps(hidden.detach(), head.weight.detach(), None, ids)
    # bf16 operands: about 1e-2 relative
    assert (ours.double() - ref).abs().max() < 5e-2 * ref.abs().max()


def test_empty_targets_keep_the_graph_connected(tiny_model_path):
    model = load_model(tiny_model_path, "fp32")
    ids = torch.tensor([[1, 5, 9, 11]])
    targets = forward.Targets(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))
    loss = -token_logps(model, {"input_ids": ids}, targets).sum()
    assert float(loss.detach()) == 0.0
    loss.backward()  # must not raise: every rank runs backward under FSDP, targets or not


def test_flat_batch_layout(tmp_path):
    docs = [Doc([1, 10, 11, 12], [0, 0, 1, 1], "a"), Doc([1, 20, 21], [0, 1, 1], "b"), Doc([1, 30, 31, 32, 33], [0, 0, 0, 1, 1], "c")]
    data = CompiledData(str(write_compiled(tmp_path / "p", CompiledSet("sft", docs, packs=[[0, 1], [2]]))))
    flat = data.collate_flat([1, 0])  # pack 1 (doc c), then pack 0 (docs a, b)
    assert flat.input_ids.tolist() == [[1, 30, 31, 32, 33, 1, 10, 11, 12, 1, 20, 21]]
    assert flat.position_ids.tolist() == [[0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 1, 2]]
    assert flat.cu_seqlens.tolist() == [0, 5, 9, 12] and flat.cu_seqlens.dtype == torch.int32
    assert flat.max_length == 5 and flat.tokens == 12 and flat.sequences == 2
    # targets: token at p predicted from p − 1; sequence = position of the pack in the micro-batch
    assert flat.targets.cols.tolist() == [2, 3, 6, 7, 9, 10]
    assert flat.targets.ids.tolist() == [32, 33, 11, 12, 20, 21]
    assert flat.targets.seq.tolist() == [0, 0, 1, 1, 1, 1]
    inputs = flat.model_batch().inputs
    assert inputs["cu_seq_lens_q"] is flat.cu_seqlens and inputs["max_length_k"] == 5


def test_preference_pairs_give_the_same_log_probs_flat_and_padded(tmp_path, tiny_model_path):
    pairs = synthetic_sft(12, seed=9, min_len=5, max_len=30)
    data = CompiledData(str(write_compiled(tmp_path / "pref", CompiledSet("preference", pairs.docs))))
    lora = apply_lora(load_model(tiny_model_path, "fp32"), r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    values = {}
    for flat in (False, True):
        batch = data.model_batch([4, 0, 2], flat=flat)
        logps = token_logps(lora, batch.inputs, batch.targets)
        values[flat] = (forward.sequence_sums(logps.detach(), batch.targets, batch.sequences), forward.target_counts(batch.targets, batch.sequences))
    torch.testing.assert_close(values[True][0], values[False][0], rtol=1e-5, atol=1e-5)
    assert values[True][1].tolist() == values[False][1].tolist()
    assert values[True][0].shape == (6,)


def test_decoder_and_head_is_used_for_plain_heads_only(tiny_model_path):
    model = load_model(tiny_model_path, "fp32")
    parts = decoder_and_head(model)
    assert parts is not None and parts[1] is model.lm_head
    lora = apply_lora(load_model(tiny_model_path, "fp32"), r=2, alpha=4, dropout=0.0, target_modules="all-linear")
    assert decoder_and_head(lora) is not None  # looks through peft; the head itself is not adapted
    model.config.model_type = "gemma2"  # soft-capped logits: the model's own forward must run
    assert decoder_and_head(model) is None


LLAMA = {"model_type": "llama", "hidden_size": 576, "num_attention_heads": 9}


@pytest.mark.parametrize(
    ("requested", "config", "device", "dtype", "expected"),
    [
        ("auto", LLAMA, "cuda", torch.bfloat16, ("kielo_varlen", True)),
        ("auto", LLAMA, "cpu", torch.bfloat16, ("sdpa", True)),
        ("auto", LLAMA, "cuda", torch.float32, ("sdpa", True)),
        ("auto", dict(LLAMA, sliding_window=4096), "cuda", torch.bfloat16, ("sdpa", True)),
        ("auto", dict(LLAMA, head_dim=100), "cuda", torch.bfloat16, ("sdpa", True)),
        ("auto", {"model_type": "bloom", "hidden_size": 64, "num_attention_heads": 4}, "cuda", torch.bfloat16, ("sdpa", False)),
        ("eager", LLAMA, "cuda", torch.bfloat16, ("eager", True)),
    ],
)
def test_choose_attention(requested, config, device, dtype, expected):
    attention, flat, why = choose_attention(requested, config, torch.device(device), dtype)
    assert (attention, flat) == expected
    assert why
