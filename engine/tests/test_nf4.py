"""NF4: packing, the round-trip error bound, double quantisation, NF4Linear, QLoRA on the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from kielo_engine.lora import apply_lora
from kielo_engine.losses import sft_loss_sum
from kielo_engine.modeling import load_model
from kielo_engine.nf4 import (
    ABSMAX_BLOCK_SIZE,
    DYNAMIC_MAP,
    NF4_CODE,
    NF4Linear,
    dequantize_absmax,
    dequantize_nf4,
    nf4_backend,
    nf4_max_half_gap,
    pack_nibbles,
    quantize_absmax,
    quantize_nf4,
    unpack_nibbles,
)


def test_code_values_are_the_16_sorted_nf4_values_with_exact_zero_and_ends():
    assert NF4_CODE.numel() == 16
    assert torch.all(NF4_CODE[1:] > NF4_CODE[:-1])
    assert NF4_CODE[0].item() == -1.0 and NF4_CODE[7].item() == 0.0 and NF4_CODE[15].item() == 1.0
    # The widest gap is between −1 and the next code: half of it bounds the rounding error.
    assert nf4_max_half_gap() == pytest.approx((1 - 0.6961928009986877) / 2, abs=1e-7)


def test_dynamic_map_has_256_sorted_values_between_minus_one_and_one():
    assert DYNAMIC_MAP.numel() == 256
    assert torch.all(DYNAMIC_MAP[1:] >= DYNAMIC_MAP[:-1])
    # The largest magnitude below 1 is the last midpoint of linspace(0.1, 1, 65): 1 − 0.9/128.
    assert DYNAMIC_MAP.min().item() == pytest.approx(-(1 - 0.9 / 128), abs=1e-7)
    assert DYNAMIC_MAP.max().item() == 1.0
    assert (DYNAMIC_MAP == 0).sum().item() == 1


def test_packing_puts_the_first_value_in_the_high_nibble_and_round_trips():
    indices = torch.tensor([1, 2, 15, 0, 7])
    packed = pack_nibbles(indices)
    assert packed.dtype == torch.uint8
    assert packed.tolist() == [0x12, 0xF0, 0x70]
    assert unpack_nibbles(packed, 5).tolist() == indices.tolist()
    every = torch.randint(0, 16, (1001,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(unpack_nibbles(pack_nibbles(every), 1001), every)


def test_code_values_themselves_quantise_exactly():
    block = NF4_CODE.repeat(4) * 0.37  # absmax 0.37, every code value present
    q = quantize_nf4(block, block_size=64)
    torch.testing.assert_close(dequantize_nf4(q), block, rtol=0, atol=1e-7)
    assert unpack_nibbles(q.packed, 64).tolist() == list(range(16)) * 4


@pytest.mark.parametrize("shape", [(64, 128), (172, 64), (3, 50)])  # the last one has a short tail block
def test_round_trip_error_is_within_the_format_bound_per_block(shape):
    generator = torch.Generator().manual_seed(1)
    weight = torch.randn(*shape, generator=generator) * 0.02
    weight[0, 0] = 0.5  # one outlier block
    q = quantize_nf4(weight, block_size=64)
    assert q.packed.numel() == (weight.numel() + 1) // 2
    restored = dequantize_nf4(q)
    assert restored.shape == weight.shape
    flat_error = (restored - weight).abs().reshape(-1)
    pad = (-weight.numel()) % 64
    errors = torch.cat([flat_error, flat_error.new_zeros(pad)]).view(-1, 64)
    absmax = torch.cat([weight.reshape(-1).abs(), weight.new_zeros(pad)]).view(-1, 64).amax(dim=1)
    bound = absmax * nf4_max_half_gap()
    assert torch.all(errors.amax(dim=1) <= bound * (1 + 1e-6))
    # …and the bound is not vacuous: the largest error of a block is a sizeable fraction of it.
    assert (errors.amax(dim=1) / bound).max().item() > 0.5


def test_double_quantised_absmax_is_close_and_its_error_adds_to_the_bound():
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(256, 320, generator=generator) * 0.05  # 1280 blocks → 5 absmax blocks of 256
    plain = quantize_nf4(weight, block_size=64)
    double = quantize_nf4(weight, block_size=64, double_quant=True)
    assert double.absmax is None and double.absmax_state is not None
    assert double.absmax_state.codes.dtype == torch.uint8
    assert double.absmax_state.scales.numel() == 1280 // ABSMAX_BLOCK_SIZE
    exact_absmax = plain.absmax
    approx_absmax = double.block_absmax()
    relative = ((approx_absmax - exact_absmax).abs() / exact_absmax).max().item()
    assert relative < 0.02
    # Rounding bound with the quantised absmax: |w − c·â| ≤ â·halfgap + |a − â| (|c| ≤ 1).
    errors = (dequantize_nf4(double) - weight).abs().reshape(-1, 64).amax(dim=1)
    bound = approx_absmax * nf4_max_half_gap() + (approx_absmax - exact_absmax).abs()
    assert torch.all(errors <= bound * (1 + 1e-5))


def test_absmax_double_quantisation_round_trip():
    values = torch.rand(600, generator=torch.Generator().manual_seed(3)) * 0.1 + 0.01
    state = quantize_absmax(values)
    restored = dequantize_absmax(state)
    assert restored.shape == values.shape
    assert (restored - values).abs().max().item() < 0.1 * 0.01


def test_zero_blocks_quantise_to_zero():
    q = quantize_nf4(torch.zeros(2, 64))
    assert torch.equal(dequantize_nf4(q), torch.zeros(2, 64))


@pytest.mark.parametrize("double_quant", [False, True])
def test_nf4_linear_forward_and_input_gradient_equal_a_linear_with_the_dequantised_weight(double_quant):
    generator = torch.Generator().manual_seed(4)
    linear = torch.nn.Linear(64, 96, bias=True)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(96, 64, generator=generator) * 0.1)
        linear.bias.copy_(torch.randn(96, generator=generator))
    layer = NF4Linear.from_linear(linear, double_quant=double_quant, compute_dtype=torch.float32)
    reference = torch.nn.Linear(64, 96, bias=True)
    with torch.no_grad():
        reference.weight.copy_(layer.dequantized_weight(torch.float32))
        reference.bias.copy_(linear.bias)
    x = torch.randn(3, 5, 64, generator=generator, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y, y_ref = layer(x), reference(x_ref)
    torch.testing.assert_close(y, y_ref, rtol=1e-6, atol=1e-6)
    upstream = torch.randn_like(y)
    y.backward(upstream)
    y_ref.backward(upstream)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-6, atol=1e-6)
    assert not any(p.requires_grad for p in layer.parameters())


def test_nf4_linear_does_not_keep_the_dequantised_weight_for_backward():
    layer = NF4Linear.from_linear(torch.nn.Linear(128, 256, bias=False), compute_dtype=torch.float32)
    saved_shapes = []

    def pack(tensor):
        saved_shapes.append(tuple(tensor.shape))
        return tensor

    x = torch.randn(2, 128, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x).sum().backward()
    assert (256, 128) not in saved_shapes
    assert x.grad is not None


def test_bitsandbytes_is_used_only_when_asked_for_and_importable():
    present = lambda name: object() if name == "bitsandbytes" else None  # noqa: E731
    assert nf4_backend(present, env={}) == "kielo"  # installed is not enough
    assert nf4_backend(present, env={"KIELO_NF4": "bitsandbytes"}) == "bitsandbytes"
    assert nf4_backend(lambda name: None, env={"KIELO_NF4": "bitsandbytes"}) == "kielo"
    # On this test machine bitsandbytes is not installed: the PyTorch implementation is used.
    assert nf4_backend() == "kielo"


@pytest.fixture(scope="module")
def sample_ids(tiny_model_path):
    """Two story openings in the model's own domain (TinyStories), tokenised by its tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    texts = [
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
        "One day, a big dog came to the house. Tom was scared, but his mom said the dog was kind.",
    ]
    rows = [tokenizer(text).input_ids[:20] for text in texts]
    return torch.tensor(rows)


@pytest.mark.parametrize(("compute", "double_quant", "limit"), [("fp32", False, 0.2), ("bf16", True, 0.2)])
def test_qlora_base_logits_are_close_to_the_full_precision_base(tiny_model_path, sample_ids, compute, double_quant, limit):
    full = load_model(tiny_model_path, compute)
    quantized = load_model(
        tiny_model_path, "fp32", quant={"type": "nf4", "double_quant": double_quant, "compute_dtype": compute}
    )
    assert sum(isinstance(m, NF4Linear) for m in quantized.modules()) == 5 * 7
    assert not isinstance(quantized.get_output_embeddings(), NF4Linear)
    with torch.no_grad():
        reference = full(sample_ids).logits.float()
        approx = quantized(sample_ids).logits.float()
    relative = ((approx - reference).norm() / reference.norm()).item()
    agreement = (approx.argmax(-1) == reference.argmax(-1)).float().mean().item()
    print(f"NF4 ({compute}, double_quant={double_quant}) vs {compute} base: logits relative error {relative:.4f}, top-1 agreement {agreement:.3f}")
    assert relative < limit
    # NF4 rounds each weight matrix with ~9 % relative error (the figure for Gaussian weights); a
    # tiny 64-wide model averages little of it out, so logits move by ~12 %. Predictions mostly agree.
    assert agreement > 0.85


def test_qlora_training_step_updates_only_the_lora_parameters(tiny_model_path, sample_ids):
    base = load_model(tiny_model_path, "fp32", quant={"type": "nf4", "double_quant": True, "compute_dtype": "fp32"})
    model = apply_lora(base, r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    assert len(trainable) == 2 * 5 * 7
    frozen_before = {n: b.clone() for n, b in model.named_buffers()}
    frozen_params = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    optimizer = torch.optim.AdamW(trainable.values(), lr=1e-2)
    losses = []
    for _ in range(3):
        total, count = sft_loss_sum(model(sample_ids).logits, sample_ids)
        loss = total / count
        optimizer.zero_grad()
        loss.backward()
        assert all(p.grad is not None for p in trainable.values())
        assert all(p.grad is None for n, p in model.named_parameters() if not p.requires_grad)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    for name, buffer in model.named_buffers():
        assert torch.equal(buffer, frozen_before[name]), name
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            assert torch.equal(parameter, frozen_params[name]), name


NF4_TRITON_CHECK = r"""
import json, torch
from kielo_engine.nf4 import quantize_nf4, dequantize_nf4
from kielo_engine.nf4_triton import dequantize_nf4_double_triton, dequantize_nf4_triton
out = {}
torch.manual_seed(0)
# bf16 is left to gpu_checks/run.py: the interpreter truncates fp32 to bf16 instead of rounding
for shape, dtype in (((64, 1000), torch.float32), ((3, 50), torch.float32), ((128, 640), torch.float16), ((7, 64 * 300), torch.float32)):
    q = quantize_nf4(torch.randn(shape) * 0.05, block_size=64, double_quant=True)
    s = q.absmax_state
    got = dequantize_nf4_double_triton(q.packed, s.codes, s.scales, s.offset.reshape(1), shape, 64, dtype)
    out[f"{shape} {dtype}"] = torch.equal(got, dequantize_nf4(q, dtype))
    plain = quantize_nf4(torch.randn(shape) * 0.05, block_size=64)
    out[f"{shape} {dtype} plain absmax"] = torch.equal(dequantize_nf4_triton(plain.packed, plain.absmax, shape, 64, dtype), dequantize_nf4(plain, dtype))
print(json.dumps(out))
"""


def test_the_triton_dequantisers_in_the_interpreter():
    """Both Triton kernels (plain absmax, and double-quantised absmax decoded in the kernel) equal the PyTorch reference bit for bit
    (Triton's CPU interpreter; the GPU run, bf16 included, is in gpu_checks/run.py). (7, 19200) spans
    several 256-block absmax scale groups; (3, 50) ends in a short block."""
    pytest.importorskip("triton")
    engine = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=engine)
    done = subprocess.run([sys.executable, "-c", NF4_TRITON_CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {key: True for key in out} and len(out) == 8, out
