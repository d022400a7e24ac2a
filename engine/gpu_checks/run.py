"""GPU-only checks of the engine's numerics: bf16 losses, NF4 dequantisation (PyTorch and Triton),
LoRA's seeded dropout (Triton), and QLoRA forward/backward on Llama-2-7B-shaped decoder layers. Prints a table; exits 1 if a
correctness check fails.

    python engine/gpu_checks/run.py            # on a CUDA GPU (H100: torch, transformers, peft, triton)
    python engine/gpu_checks/run.py --cpu      # the same checks at tiny sizes, on the CPU

The QLoRA layers are RANDOMLY INITIALISED with the real shapes of Llama-2-7B (hidden 4096,
intermediate 11008, 32 heads, vocabulary 32000): their speed and memory are real, their outputs
are not those of a trained model.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kielo_engine.lora_fused import LoraDelta, drop, dropout_seed  # noqa: E402
from kielo_engine.losses import dpo_loss, sequence_logps, sft_loss_sum  # noqa: E402
from kielo_engine.nf4 import NF4Linear, dequantize_nf4, dequantize_nf4_parts, nf4_max_half_gap, quantize_nf4  # noqa: E402


@dataclass
class Row:
    check: str
    value: str
    limit: str
    ok: bool | None  # None: a measurement, not a pass/fail check


ROWS: list[Row] = []


def record(check: str, value: str, limit: str = "", ok: bool | None = None) -> None:
    ROWS.append(Row(check, value, limit, ok))
    status = "" if ok is None else ("ok" if ok else "FAIL")
    print(f"  {check:<58} {value:>22} {limit:>14} {status}", flush=True)


def timed(fn: Callable[[], object], device: torch.device, repeat: int = 10) -> float:
    """Median seconds per call after a warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def check_losses(device: torch.device, batch: int, length: int, vocab: int) -> None:
    print(f"losses in bf16 vs fp64 (random logits [{batch}, {length}, {vocab}], scale 4)")
    generator = torch.Generator(device=device).manual_seed(0)
    logits64 = torch.randn(batch, length, vocab, generator=generator, device=device, dtype=torch.float64) * 4
    ids = torch.randint(0, vocab, (batch, length), generator=generator, device=device)
    mask = torch.zeros(batch, length, dtype=torch.long, device=device)
    mask[:, length // 4 :] = 1
    bf16 = logits64.to(torch.bfloat16)

    exact_same_input = sequence_logps(bf16.double(), ids, mask)
    ours = sequence_logps(bf16, ids, mask)
    error = (ours.double() - exact_same_input).abs().max().item()
    record("seq logp: bf16 logits, fp32 reduction vs fp64", f"{error:.2e}", "≤ 1e-3", error <= 1e-3)
    exact = sequence_logps(logits64, ids, mask)
    error = (ours.double() - exact).abs().max().item()
    per_token = error / mask[:, 1:].sum(dim=1).max().item()
    record("seq logp: incl. bf16 rounding of logits, per sequence", f"{error:.2e}", "", None)
    record("  … per completion token", f"{per_token:.2e}", "≤ 1e-2", per_token <= 1e-2)

    labels = ids.masked_fill(mask == 0, -100)
    total64, count = sft_loss_sum(logits64, labels)
    total16, _ = sft_loss_sum(bf16, labels)
    exact_same_input, _ = sft_loss_sum(bf16.double(), labels)
    error = abs(total16.item() - exact_same_input.item()) / count
    record("SFT mean NLL: bf16 logits, fp32 reduction vs fp64", f"{error:.2e}", "≤ 1e-5", error <= 1e-5)
    error = abs(total16.item() - total64.item()) / count
    record("SFT mean NLL: incl. bf16 rounding of logits", f"{error:.2e}", "≤ 1e-2", error <= 1e-2)

    half = batch // 2
    policy = sequence_logps(bf16, ids, mask)
    reference = sequence_logps((logits64 + 0.01).to(torch.bfloat16), ids, mask)
    losses16, _, _ = dpo_loss(policy[:half], policy[half:], reference[:half], reference[half:], beta=0.1)
    p64, r64 = sequence_logps(logits64, ids, mask), sequence_logps(logits64 + 0.01, ids, mask)
    losses64, _, _ = dpo_loss(p64[:half], p64[half:], r64[:half], r64[half:], beta=0.1)
    error = (losses16.double() - losses64).abs().max().item()
    record("DPO sigmoid loss (β 0.1): bf16 vs fp64", f"{error:.2e}", "≤ 5e-2", error <= 5e-2)


def check_nf4(device: torch.device, rows: int, cols: int) -> None:
    print(f"NF4 dequantisation of a {rows}×{cols} weight (block 64)")
    generator = torch.Generator(device=device).manual_seed(1)
    weight = torch.randn(rows, cols, generator=generator, device=device) * 0.02
    for double_quant in (False, True):
        q = quantize_nf4(weight, double_quant=double_quant)
        restored = dequantize_nf4(q)
        blocks_error = (restored - weight).abs().reshape(-1, 64).amax(dim=1)
        absmax = weight.abs().reshape(-1, 64).amax(dim=1)
        slack = (q.block_absmax() - absmax).abs()
        ok = bool(torch.all(blocks_error <= (q.block_absmax() * nf4_max_half_gap() + slack) * (1 + 1e-5)))
        relative = ((restored - weight).norm() / weight.norm()).item()
        record(f"round trip within bound (double_quant={double_quant})", f"rel err {relative:.4f}", "per block", ok)
        if device.type == "cuda":
            cpu_q = quantize_nf4(weight.cpu(), double_quant=double_quant)
            same = torch.equal(cpu_q.packed, q.packed.cpu())
            record(f"GPU quantisation = CPU quantisation (dq={double_quant})", str(same), "bit-exact", same)

    q = quantize_nf4(weight, double_quant=True)
    absmax = q.block_absmax()
    shape = (rows, cols)
    reference = dequantize_nf4_parts(q.packed, absmax, shape, 64, torch.bfloat16)
    seconds = timed(lambda: dequantize_nf4_parts(q.packed, absmax, shape, 64, torch.bfloat16), device)
    gbps = (q.packed.numel() + rows * cols * 2) / seconds / 1e9
    record("dequant → bf16, PyTorch", f"{seconds * 1e3:.3f} ms", f"{gbps:.0f} GB/s", None)
    seconds = timed(lambda: quantize_nf4(weight, double_quant=True), device, repeat=3)
    record("quantise (double quant), PyTorch", f"{seconds * 1e3:.1f} ms", "", None)
    if device.type == "cuda" and importlib.util.find_spec("triton") is not None:
        from kielo_engine.nf4_triton import dequantize_nf4_triton

        for dtype in (torch.bfloat16, torch.float16, torch.float32):
            same = torch.equal(
                dequantize_nf4_triton(q.packed, absmax, shape, 64, dtype),
                dequantize_nf4_parts(q.packed, absmax, shape, 64, dtype),
            )
            record(f"Triton dequant = PyTorch dequant ({str(dtype)[6:]})", str(same), "bit-exact", same)
        odd = quantize_nf4(torch.randn(3, 50, device=device))
        same = torch.equal(
            dequantize_nf4_triton(odd.packed, odd.absmax, (3, 50), 64, torch.float32), dequantize_nf4(odd)
        )
        record("Triton dequant, short tail block (3×50)", str(same), "bit-exact", same)
        from kielo_engine.nf4_triton import dequantize_nf4_double_triton

        state = q.absmax_state
        double = lambda dtype: dequantize_nf4_double_triton(q.packed, state.codes, state.scales, state.offset.reshape(1), shape, 64, dtype)  # noqa: E731
        for dtype in (torch.bfloat16, torch.float16, torch.float32):
            same = torch.equal(double(dtype), dequantize_nf4(q, dtype))
            record(f"Triton dequant with absmax decoded in-kernel = PyTorch ({str(dtype)[6:]})", str(same), "bit-exact", same)
        layer = NF4Linear(cols, rows, bias=None, quantized=q, compute_dtype=torch.bfloat16)
        layer.dequantized_weight()  # the code tables reach the GPU once
        same = torch.equal(layer.dequantized_weight(), dequantize_nf4(q, torch.bfloat16))
        record("NF4Linear (double quant) dequantises as the reference", str(same), "bit-exact", same)
        seconds = timed(lambda: double(torch.bfloat16), device)
        record("dequant → bf16, Triton, absmax decoded in-kernel", f"{seconds * 1e3:.3f} ms", f"{(q.packed.numel() + rows * cols * 2) / seconds / 1e9:.0f} GB/s", None)
        record("QLoRA dequantisation (double quant) never waits for the GPU", *no_sync(layer.dequantized_weight))
        seconds = timed(lambda: dequantize_nf4_triton(q.packed, absmax, shape, 64, torch.bfloat16), device)
        gbps = (q.packed.numel() + rows * cols * 2) / seconds / 1e9
        record("dequant → bf16, Triton", f"{seconds * 1e3:.3f} ms", f"{gbps:.0f} GB/s", None)
        del reference


def no_sync(fn: Callable[[], object]) -> tuple[str, str, bool]:
    """(value, limit, ok) for a record: fn ran under torch's sync debug mode "error"."""
    torch.cuda.set_sync_debug_mode("error")
    try:
        fn()
        return "no sync", "none", True
    except RuntimeError as err:
        return str(err).splitlines()[0][:40], "none", False
    finally:
        torch.cuda.set_sync_debug_mode("default")


def check_dropout(device: torch.device, tokens: int, features: int) -> None:
    """LoRA's seeded dropout (lora_fused.drop: the Triton kernel on CUDA): share kept, same mask for
    the same seed, LoraDelta's gradients equal the explicit formula with that mask; then its time
    against what it replaces (a bool mask from bernoulli_, times x)."""
    print(f"LoRA dropout of a [{tokens} × {features}] bf16 activation, p = 0.05")
    generator = torch.Generator(device=device).manual_seed(2)
    x = torch.randn(tokens, features, generator=generator, device=device).to(torch.bfloat16)
    seed, keep = 2**40 + 11, 0.95
    ones = torch.ones_like(x)
    mask = drop(ones, seed, keep) != 0
    share = mask.float().mean().item()
    slack = 4 * math.sqrt(keep * (1 - keep) / x.numel())  # four standard deviations
    record("share kept", f"{share:.5f}", f"0.95 ± {slack:.4f}", abs(share - keep) <= slack)
    same = torch.equal(drop(x, seed, keep), torch.where(mask, x, torch.zeros_like(x)))
    record("same seed, same mask; kept values exact", str(same), "bit-exact", same)

    small = x[: min(tokens, 512)].float().requires_grad_(True)
    a = (torch.randn(16, features, generator=generator, device=device) * 0.02).requires_grad_(True)
    b = (torch.randn(64, 16, generator=generator, device=device) * 0.02).requires_grad_(True)
    base = torch.randn(small.shape[0], 64, generator=generator, device=device, requires_grad=True)
    ours = LoraDelta.apply(small, base, a, b, 2.0, seed, keep)
    upstream = torch.randn(ours.shape, generator=generator, device=device)
    got = torch.autograd.grad((ours * upstream).sum(), (small, base, a, b))
    m = drop(torch.ones_like(small), seed, keep)
    explicit = base + ((small * m / keep) @ a.t() @ b.t()) * 2.0
    want = torch.autograd.grad((explicit * upstream).sum(), (small, base, a, b))
    error = max(float((g - w).norm() / w.norm()) for g, w in zip(got, want))
    record("LoraDelta with dropout vs explicit formula (fp32)", f"rel err {error:.1e}", "≤ 1e-5", error <= 1e-5)

    if device.type == "cuda":
        def step() -> None:
            out = LoraDelta.apply(small, base, a, b, 2.0, dropout_seed(), keep)
            torch.autograd.grad(out.sum(), (small, a, b))

        step()
        record("LoRA delta with dropout, forward + backward, never waits for the GPU", *no_sync(step))
    seconds = timed(lambda: drop(x, seed, keep), device)
    record("seeded dropout (read x, write x·m)", f"{seconds * 1e3:.3f} ms", f"{x.numel() * 4 / seconds / 1e9:.0f} GB/s", None)

    def bool_mask() -> torch.Tensor:
        return x * torch.empty(x.shape, dtype=torch.bool, device=device).bernoulli_(keep)

    seconds = timed(bool_mask, device)
    record("replaced: bernoulli_ bool mask, then x·mask", f"{seconds * 1e3:.3f} ms", "", None)
    seconds = timed(lambda: x * 2, device)
    record("memory-bound reference: x·2", f"{seconds * 1e3:.3f} ms", f"{x.numel() * 4 / seconds / 1e9:.0f} GB/s", None)


def check_qlora(device: torch.device, layers: int, hidden: int, intermediate: int, heads: int, vocab: int,
                seq: int, dtype: torch.dtype) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    from kielo_engine.lora import apply_lora
    from kielo_engine.losses import sft_loss_sum
    from kielo_engine.nf4 import quantize_linear_layers

    shapes = "Llama-2-7B shapes" if hidden == 4096 else "tiny shapes"
    print(
        f"QLoRA on {layers} decoder layer(s), RANDOM INIT, {shapes} "
        f"(hidden {hidden}, intermediate {intermediate}, vocab {vocab}), seq {seq}, {str(dtype)[6:]}"
    )
    config = LlamaConfig(
        hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers, num_attention_heads=heads,
        num_key_value_heads=heads, vocab_size=vocab, max_position_embeddings=max(4096, seq),
        attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(dtype)
    head = model.get_output_embeddings()
    quantize_linear_layers(model, double_quant=True, compute_dtype=dtype, device=device, skip=lambda _n, m: m is head)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    model.to(device)
    model = apply_lora(model, r=16, alpha=32, dropout=0.05, target_modules="all-linear")
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    packed = sum(m.weight.numel() for m in model.modules() if isinstance(m, NF4Linear))
    record("trainable LoRA parameters (r 16, all-linear)", f"{trainable:,}", "", None)
    record("packed NF4 bytes of the decoder layers", f"{packed / 2**20:.1f} MiB", "", None)
    ids = torch.randint(0, vocab, (1, seq), device=device)

    def step() -> float:
        total, count = sft_loss_sum(model(input_ids=ids).logits, ids)
        loss = total / count
        loss.backward()
        return loss.item()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    loss = step()
    grads_ok = all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
    frozen_ok = all(p.grad is None for p in model.parameters() if not p.requires_grad)
    ln_vocab = math.log(vocab)
    record("first step loss (≈ ln vocab for random init)", f"{loss:.3f}", f"ln V = {ln_vocab:.3f}", abs(loss - ln_vocab) < 1.0)
    record("gradients finite, only in LoRA parameters", str(grads_ok and frozen_ok), "", grads_ok and frozen_ok)
    seconds = timed(step, device, repeat=3)
    record("forward+backward per step", f"{seconds * 1e3:.1f} ms", f"{seq / seconds:,.0f} tok/s", None)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
        record("peak memory above the loaded model", f"{peak / 2**30:.2f} GiB", "", None)
        record("memory held by the model", f"{base / 2**30:.2f} GiB", "", None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="run at tiny sizes on the CPU (to test this script)")
    parser.add_argument("--layers", type=int, default=2, help="decoder layers for the QLoRA check (GPU)")
    parser.add_argument("--seq", type=int, default=2048, help="sequence length for the QLoRA check (GPU)")
    args = parser.parse_args(argv)
    if args.cpu:
        device = torch.device("cpu")
        torch.set_num_threads(2)
        print(f"device: CPU (tiny sizes), torch {torch.__version__}")
        check_losses(device, batch=4, length=64, vocab=512)
        check_nf4(device, 256, 688)
        check_dropout(device, 64, 688)
        check_qlora(device, layers=1, hidden=128, intermediate=344, heads=4, vocab=512, seq=64, dtype=torch.float32)
    else:
        if not torch.cuda.is_available():
            print("no CUDA device: run with --cpu for the tiny version", file=sys.stderr)
            return 2
        device = torch.device("cuda")
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
        check_losses(device, batch=8, length=1024, vocab=32000)
        check_nf4(device, 4096, 11008)
        check_dropout(device, 8192, 11008)
        check_qlora(device, layers=args.layers, hidden=4096, intermediate=11008, heads=32, vocab=32000,
                    seq=args.seq, dtype=torch.bfloat16)
    failed = [row for row in ROWS if row.ok is False]
    print(f"\n{len([r for r in ROWS if r.ok])} checks passed, {len(failed)} failed, "
          f"{len([r for r in ROWS if r.ok is None])} measurements")
    for row in failed:
        print(f"FAILED: {row.check}: {row.value} (limit {row.limit})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
