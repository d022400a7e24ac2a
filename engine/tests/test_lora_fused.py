"""lora_fused.py: the low-rank term in one autograd function equals peft's LoRA (values and
gradients), keeps peft's adapter switching, and drops out exactly the masked inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kielo_engine import lora_fused
from kielo_engine.lora import apply_lora
from kielo_engine.lora_fused import LoraDelta, drop, lora_delta
from kielo_engine.modeling import load_model

ENGINE_DIR = Path(__file__).resolve().parents[1]


def lora_model(path, dropout=0.0, dtype="fp32"):
    torch.manual_seed(0)
    model = apply_lora(load_model(path, dtype), r=4, alpha=8, dropout=dropout, target_modules="all-linear")
    # peft initialises B to zero; give it values so the low-rank term is not trivially zero
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    return model


def grads_of(model, ids):
    model.zero_grad(set_to_none=True)
    out = model(input_ids=ids).logits
    (out.float() ** 2).mean().backward()
    return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def test_fused_equals_peft_in_fp32_values_and_gradients(tiny_model_path):
    ids = torch.randint(3, 500, (2, 17), generator=torch.Generator().manual_seed(1))
    peft_model = lora_model(tiny_model_path)
    fused_model = lora_model(tiny_model_path)
    assert lora_fused.install(fused_model) == len([m for m in fused_model.modules() if isinstance(m, lora_fused.PeftLoraLinear)]) > 0
    peft_out, peft_grads = grads_of(peft_model, ids)
    fused_out, fused_grads = grads_of(fused_model, ids)
    torch.testing.assert_close(fused_out, peft_out, rtol=1e-5, atol=1e-5)
    assert fused_grads.keys() == peft_grads.keys()
    for name in peft_grads:
        torch.testing.assert_close(fused_grads[name], peft_grads[name], rtol=1e-4, atol=1e-6, msg=name)


def test_fused_in_bf16_is_as_close_to_fp32_as_peft_in_bf16(tiny_model_path):
    # A bf16 model's gradients differ from fp32 by percents (measured here: peft's mean 2.6 %, max
    # 8.2 % over the adapter tensors); the fused term must not add to that.
    ids = torch.randint(3, 500, (2, 17), generator=torch.Generator().manual_seed(2))
    _, reference = grads_of(lora_model(tiny_model_path), ids)
    peft_out, peft_grads = grads_of(lora_model(tiny_model_path, dtype="bf16"), ids)
    fused = lora_model(tiny_model_path, dtype="bf16")
    lora_fused.install(fused)
    fused_out, fused_grads = grads_of(fused, ids)
    assert (fused_out.float() - peft_out.float()).norm() / peft_out.float().norm() < 1e-2

    def errors(grads):
        return [float((grads[n] - reference[n]).norm() / reference[n].norm()) for n in reference]

    assert all(g.dtype == torch.float32 for g in fused_grads.values())  # the adapter stays fp32
    peft_err, fused_err = errors(peft_grads), errors(fused_grads)
    assert sum(fused_err) / len(fused_err) <= 1.25 * sum(peft_err) / len(peft_err) + 0.005
    assert max(fused_err) <= 1.25 * max(peft_err) + 0.01


def test_disabled_adapter_and_eval_mode_fall_back_or_skip_dropout(tiny_model_path):
    ids = torch.randint(3, 500, (1, 9), generator=torch.Generator().manual_seed(3))
    model = lora_model(tiny_model_path, dropout=0.5)
    base_out = load_model(tiny_model_path, "fp32")(input_ids=ids).logits
    lora_fused.install(model)
    with torch.no_grad(), model.disable_adapter():
        torch.testing.assert_close(model(input_ids=ids).logits, base_out)
    model.eval()
    with torch.no_grad():
        first, second = model(input_ids=ids).logits, model(input_ids=ids).logits
    torch.testing.assert_close(first, second)  # no dropout in eval mode
    assert (first - base_out).abs().max() > 1e-4  # and the adapter is on


def test_lora_delta_with_a_seed_equals_the_explicit_formula_with_that_seeds_mask():
    torch.manual_seed(4)
    x = torch.randn(3, 5, 8, dtype=torch.float64, requires_grad=True)
    a = torch.randn(2, 8, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    base = torch.randn(3, 5, 6, dtype=torch.float64, requires_grad=True)
    keep, seed = 0.7, 2**40 + 5
    mask = drop(torch.ones(3, 5, 8, dtype=torch.float64), seed, keep) != 0
    assert 0 < int(mask.sum()) < mask.numel()
    ours = LoraDelta.apply(x, base, a, b, 1.5, seed, keep)
    upstream = torch.randn_like(ours)
    grads = torch.autograd.grad((ours * upstream).sum(), (x, base, a, b))
    explicit = base + ((x * mask / keep) @ a.t() @ b.t()) * 1.5
    want = torch.autograd.grad((explicit * upstream).sum(), (x, base, a, b))
    torch.testing.assert_close(ours, explicit)
    for got, expected in zip(grads, want):
        torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("p", [0.05, 0.5])
def test_dropout_keeps_the_expected_share_and_scales_it(p):
    x = torch.ones(400, 250)
    eye = torch.eye(250)
    zero = torch.zeros(400, 250)
    out = lora_delta(x, zero, eye, eye, 1.0, p, training=True)
    kept = out != 0
    assert abs(float(kept.float().mean()) - (1 - p)) < 0.01
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / (1 - p)))
    torch.testing.assert_close(lora_delta(x, zero, eye, eye, 1.0, p, training=False), x)


def test_a_checkpointed_layer_redraws_the_same_dropout_mask(tiny_model_path):
    # The mask is not kept for the backward: it is redrawn from a seed taken from torch's CPU
    # generator, which activation checkpointing restores before replaying a layer. With and without
    # checkpointing the gradients must be the same (a different mask would change them by percents).
    ids = torch.randint(3, 500, (2, 17), generator=torch.Generator().manual_seed(5))

    def run(checkpointed, seed):
        model = lora_model(tiny_model_path, dropout=0.5)
        lora_fused.install(model)
        model.train()
        if checkpointed:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        torch.manual_seed(seed)
        return grads_of(model, ids)

    plain_out, plain = run(False, 6)
    ckpt_out, ckpt = run(True, 6)
    torch.testing.assert_close(ckpt_out, plain_out)
    for name in plain:
        torch.testing.assert_close(ckpt[name], plain[name], msg=name)
    other_out, _ = run(False, 7)
    assert (other_out - plain_out).abs().max() > 1e-4  # another seed, another mask


TRITON_CHECK = r"""
import json, sys, torch
from kielo_engine.dropout_triton import drop_triton
out = {}
ones = torch.ones(5, 3001)
for keep in (0.95, 0.5):
    kept = drop_triton(ones, 2**40 + 1, keep) != 0
    out[f"share {keep}"] = kept.float().mean().item()
a = drop_triton(ones, 2**40 + 1, 0.5)
out["same seed, same mask"] = torch.equal(a, drop_triton(ones, 2**40 + 1, 0.5))
out["other seed, other mask"] = not torch.equal(a, drop_triton(ones, 2**40 + 2, 0.5))
# the mask depends on the element's index only: a longer tensor starts with the same mask
longer = drop_triton(torch.ones(6, 3001), 2**40 + 1, 0.5)
out["prefix"] = torch.equal(longer.flatten()[: a.numel()], a.flatten())
# kept values pass unchanged in bf16; a transposed view is dropped at its logical positions
x = torch.randn(64, 40).to(torch.bfloat16)
y = drop_triton(x, 2**40 + 3, 0.5)
m = drop_triton(torch.ones(64, 40, dtype=torch.bfloat16), 2**40 + 3, 0.5) != 0
out["bf16 kept exact"] = y.dtype == torch.bfloat16 and torch.equal(y, torch.where(m, x, torch.zeros_like(x)))
xt = x.t()
out["logical positions"] = torch.equal(drop_triton(xt, 2**40 + 3, 0.5), drop_triton(xt.contiguous(), 2**40 + 3, 0.5))
print(json.dumps(out))
"""


def test_the_triton_dropout_kernel_in_the_interpreter(tmp_path):
    # The kernel itself, run by Triton's CPU interpreter (the GPU run is in gpu_checks/run.py).
    pytest.importorskip("triton")
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=str(ENGINE_DIR))
    done = subprocess.run([sys.executable, "-c", TRITON_CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert abs(out.pop("share 0.95") - 0.95) < 0.01
    assert abs(out.pop("share 0.5") - 0.5) < 0.02
    assert out == {key: True for key in out} and len(out) == 5, out


def test_weights_cast_once_per_step_follow_the_optimizer(tiny_model_path):
    """The adapter's weights are cast once and reused until the trainer clears the cache after its
    optimizer step (fused AdamW updates them without a new version counter); an in-place change
    that does bump the version is seen without a clear."""
    ids = torch.randint(3, 500, (2, 17), generator=torch.Generator().manual_seed(3))
    peft_model, fused_model = lora_model(tiny_model_path), lora_model(tiny_model_path)
    lora_fused.install(fused_model)
    optimizers = [torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-2, fused=True) for m in (peft_model, fused_model)]
    lora_fused.clear_weight_cache()
    for _ in range(2):
        for model, optimizer in zip((peft_model, fused_model), optimizers):
            grads_of(model, ids)
            optimizer.step()
        lora_fused.clear_weight_cache()
        with torch.no_grad():
            torch.testing.assert_close(fused_model(input_ids=ids).logits, peft_model(input_ids=ids).logits, rtol=1e-5, atol=1e-5)
    # the cached casts are reused while nothing changed …
    with torch.no_grad():
        fused_model(input_ids=ids)
        cached = dict(lora_fused._CAST)
        fused_model(input_ids=ids)
    assert cached and all(lora_fused._CAST[k][4] is v[4] for k, v in cached.items())
    # … and an in-place edit (a new version) is cast again
    with torch.no_grad():
        for model in (peft_model, fused_model):
            for name, p in model.named_parameters():
                if "lora_A" in name:
                    p.mul_(2)
        torch.testing.assert_close(fused_model(input_ids=ids).logits, peft_model(input_ids=ids).logits, rtol=1e-5, atol=1e-5)
