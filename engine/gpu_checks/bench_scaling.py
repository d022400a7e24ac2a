"""Scaling over GPUs of kielo's REAL training loop (torchrun + FSDP2) on a Llama-2-7B-shaped model.

    python3 engine/gpu_checks/bench_scaling.py                          # 8-GPU host (nvidia-h200-x8)
    python3 engine/gpu_checks/bench_scaling.py --only full --worlds-full 2,4,8
    python3 engine/gpu_checks/bench_scaling.py --cpu --tiny              # any machine: gloo, CPU ranks

Random init, real shapes (bench_common.py): a randomly initialised LlamaForCausalLM with the shapes
of Llama-2-7B, made once and saved with `save_pretrained`; losses mean nothing, speed and memory
are real. Two configurations:
- `full`: full fine-tuning (fp32 master weights, gradients and AdamW moments sharded by FSDP2, bf16
  compute) at the world sizes of --worlds-full (default 2, 4, 8: 16 B/param ≈ 108 GB does not fit
  one GPU);
- `lora`: LoRA r16 α32 on every linear layer, bf16 base, at --worlds-lora (default 1, 2, 4, 8).

Weak scaling: every GPU trains the same work per step (--micro-batch sequences × --accum micro-
batches of packed --seq-len token sequences), so the global batch grows with the world size. Each
run is `torchrun --standalone --nproc-per-node W -m kielo_engine run JOB` (one process when W = 1)
in a fresh process group, measured from the engine's own events:
- tokens/s per GPU: real tokens of the timed steps (all ranks) / their seconds / W; the first step
  (kernel selection, warm-up) is not timed;
- peak memory: rank 0's torch.cuda.max_memory_allocated (the `done` event); ranks hold equal shards;
- scaling efficiency: tokens/s per GPU at W ÷ tokens/s per GPU at the smallest world size of the
  same configuration that ran (fits): 100 % is perfect scaling.

Writes to $OUT (or --out): bench_scaling.txt (the table), bench_scaling.json (every number),
bench_scaling.log (the engine's output). Prints the table last. Exit code 1 if a run failed (a run
out of memory is reported as OOM and is not a failure: it says the world size is too small).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from bench_common import (
    LLAMA2_7B,
    TINY,
    EngineRun,
    exit_status,
    fmt,
    gpu_count,
    gpu_facts,
    job_spec,
    make_models_in_child,
    packed_layout,
    parameter_count,
    pick_work_dir,
    read_events,
    run_child,
    sequential_schedule,
    write_compiled,
    write_json,
    write_schedule,
)

CONFIGS = ("full", "lora")


@dataclass(kw_only=True)
class Result(EngineRun):
    config: str
    world: int
    tokens_per_s_per_gpu: float | None = None
    efficiency: float | None = None


def parse_worlds(text: str, flag: str, parser: argparse.ArgumentParser) -> list[int]:
    try:
        worlds = sorted({int(w) for w in text.split(",") if w.strip()})
    except ValueError:
        parser.error(f"{flag}: a comma-separated list of GPU counts, like 1,2,4,8 (got {text!r})")
    if not worlds or worlds[0] < 1:
        parser.error(f"{flag}: GPU counts must be ≥ 1 (got {text!r})")
    return worlds


def write_job(job_dir: str, config: str, world: int, args: argparse.Namespace, model_dir: str, shape: dict[str, Any], dtype: str) -> None:
    """Packed random sequences; `accum` micro-batches per GPU per step, so world × accum per step."""
    shutil.rmtree(job_dir, ignore_errors=True)
    rng = np.random.default_rng(args.seed)
    accum = args.accum * world
    sequences = args.steps * accum * args.micro_batch
    packs = packed_layout(rng, sequences, args.seq_len)
    docs = [(n, 1) for pack in packs for n in pack]
    manifest = write_compiled(os.path.join(job_dir, "data", "train"), docs, [len(p) for p in packs], "sft", args.seq_len,
                              shape["vocab_size"], rng, "bench_scaling.py")
    write_schedule(os.path.join(job_dir, "schedule.bin"), sequential_schedule(args.steps, accum, args.micro_batch))
    job = job_spec(job_dir, model_dir, "sft", None if config == "full" else "lora", dtype, args.steps, accum, args.micro_batch,
                   args.seed, "engine/gpu_checks/bench_scaling.py", manifest["source"]["sha256"])
    job["identity"] = f"bench-scaling-{config}-{world}"
    write_json(os.path.join(job_dir, "job.json"), job)


def engine_command(job_dir: str, world: int) -> list[str]:
    if world == 1:
        return [sys.executable, "-m", "kielo_engine", "run", job_dir]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={world}", "-m", "kielo_engine", "run", job_dir]


def add_efficiency(results: list[Result]) -> None:
    """Against the smallest world size of the same configuration that ran."""
    for config in CONFIGS:
        ran = sorted((r for r in results if r.config == config and r.status == "ok" and r.tokens_per_s_per_gpu), key=lambda r: r.world)
        for r in ran:
            r.efficiency = r.tokens_per_s_per_gpu / ran[0].tokens_per_s_per_gpu


def table(results: list[Result]) -> str:
    header = f"{'config':<6} {'GPUs':>4} {'tokens/s':>10} {'tokens/s/GPU':>12} {'efficiency':>10} {'peak GiB':>8} {'s/step':>7}  status"
    lines = [header]
    for r in results:
        status = r.status + (f": {r.message[:90]}" if r.message else "")
        eff = "-" if r.efficiency is None else f"{r.efficiency:.0%}"
        lines.append(
            f"{r.config:<6} {r.world:>4} {fmt(r.tokens_per_s, ',.0f'):>10} {fmt(r.tokens_per_s_per_gpu, ',.0f'):>12} {eff:>10} "
            f"{fmt(r.peak_memory_gib, '.1f'):>8} {fmt(r.seconds_per_step, '.2f'):>7}  {status}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Scaling of kielo's training loop over GPUs (torchrun + FSDP2) on a Llama-2-7B-shaped model "
        "(random init, real shapes): full fine-tuning and LoRA, tokens/s per GPU, peak memory, scaling efficiency.",
    )
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (fp32, gloo), for trying the script without GPUs")
    parser.add_argument("--tiny", action="store_true", help="2 layers, hidden 256, seq 256 (vocab still 32000)")
    parser.add_argument("--only", default=",".join(CONFIGS), help="comma-separated, from full, lora (default: both)")
    parser.add_argument("--worlds-full", default="2,4,8", help="GPU counts for full fine-tuning (default 2,4,8)")
    parser.add_argument("--worlds-lora", default="1,2,4,8", help="GPU counts for LoRA (default 1,2,4,8)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per run; the first is not timed (default 4)")
    parser.add_argument("--micro-batch", type=int, default=2, help="sequences per micro-batch (default 2)")
    parser.add_argument("--accum", type=int, default=2, help="micro-batches per GPU per optimizer step (default 2)")
    parser.add_argument("--seq-len", type=int, default=None, help="sequence length (default 2048; 256 with --tiny)")
    parser.add_argument("--layers", type=int, default=None, help="decoder layers (default 32; 2 with --tiny)")
    parser.add_argument("--work", default=None, help="folder for the model and job folders (default /dev/shm/kielo-bench if it fits)")
    parser.add_argument("--out", default=os.environ.get("OUT") or None, help="folder for bench_scaling.{txt,json,log} (default $OUT, else <work>/out)")
    parser.add_argument("--budget-s", type=float, default=540.0, help="stop starting runs when the next would end after this many seconds (default 540)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the model and job folders")
    args = parser.parse_args(argv)

    started = time.time()
    shape = dict(TINY if args.tiny else LLAMA2_7B)
    if args.layers is not None:
        shape["num_hidden_layers"] = args.layers
    args.seq_len = args.seq_len or (256 if args.tiny else 2048)
    configs = [c.strip() for c in args.only.split(",") if c.strip()]
    if not configs or any(c not in CONFIGS for c in configs):
        parser.error(f"--only: choose from {', '.join(CONFIGS)} (got {args.only!r})")
    worlds = {"full": parse_worlds(args.worlds_full, "--worlds-full", parser), "lora": parse_worlds(args.worlds_lora, "--worlds-lora", parser)}
    available = None if args.cpu else gpu_count()
    if not args.cpu and not available:
        print("bench_scaling: no GPU found (nvidia-smi); run with --cpu --tiny to try the script on the CPU", file=sys.stderr)
        return 2
    dtype = "fp32" if args.cpu else "bf16"
    layers = shape["num_hidden_layers"]
    work = os.path.abspath(args.work or pick_work_dir(parameter_count(shape, layers) * (4 if args.cpu else 2)))
    out = os.path.abspath(args.out or os.path.join(work, "out"))
    os.makedirs(work, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    facts = {"gpu_name": "cpu", "gpu_bytes": None} if args.cpu else gpu_facts()
    notes = [
        f"bench_scaling: random init, real shapes ({'tiny Llama' if args.tiny else 'Llama-2-7B'}: hidden {shape['hidden_size']}, "
        f"intermediate {shape['intermediate_size']}, {shape['num_attention_heads']} heads, {layers} layers, vocab {shape['vocab_size']}); "
        f"{dtype}, FSDP2 under torchrun ({'gloo, CPU ranks' if args.cpu else 'NCCL'}), gradient checkpointing, packed seq {args.seq_len}, "
        f"per GPU {args.micro_batch} × {args.accum} sequences per step (weak scaling), {args.steps} steps (first not timed); "
        f"device {facts['gpu_name']}" + ("" if args.cpu else f" × {available}"),
        "efficiency: tokens/s per GPU ÷ that of the smallest world size of the same configuration that ran; peak memory: rank 0",
    ]
    print("\n".join(notes), flush=True)

    # NVLink multicast (NVLS) stays off on the lent hosts (docs/gpu.md), as in fsdp_parity.py.
    for name in ("NCCL_NVLS_ENABLE", "TORCH_SYMM_MEM_DISABLE_MULTICAST", "NVSHMEM_DISABLE_NVLS"):
        os.environ.setdefault(name, "0" if name == "NCCL_NVLS_ENABLE" else "1")
    model_dir = os.path.join(work, f"model-{layers}l")
    log_path = os.path.join(out, "bench_scaling.log")
    results: list[Result] = []
    with open(log_path, "w", encoding="utf-8") as log:
        print(f"making the random model ({parameter_count(shape, layers) / 1e9:.2f} B parameters) in {work} …", flush=True)
        ok, error = make_models_in_child([{"shape": shape, "dirs": {model_dir: layers}}], args.cpu, log)
        if not ok:
            print(error, file=sys.stderr)
            print("bench_scaling: could not make the random model", file=sys.stderr)
            return 1
        longest = 0.0
        for config in configs:
            for world in worlds[config]:
                result = Result(config=config, world=world)
                results.append(result)
                elapsed = time.time() - started
                if available is not None and world > available:
                    result.status, result.message = "SKIPPED", f"{world} GPUs asked, {available} on this host"
                elif elapsed + max(longest, 5.0 if args.tiny else 60.0) > args.budget_s:
                    result.status, result.message = "SKIPPED", f"time budget: {elapsed:.0f}s used of {args.budget_s:.0f}s"
                if result.status == "SKIPPED":
                    print(f"-- {config} × {world}: skipped ({result.message})", flush=True)
                    continue
                job_dir = os.path.join(work, f"job-{config}-{world}")
                write_job(job_dir, config, world, args, model_dir, shape, dtype)
                print(f"-- {config} on {world} {'CPU rank' if args.cpu else 'GPU'}{'s' if world > 1 else ''}", flush=True)
                t0 = time.time()
                code, launched = run_child(engine_command(job_dir, world), job_dir, log, timeout=max(120.0, args.budget_s + 60.0 - elapsed),
                                           cpu=args.cpu)
                result.wall_seconds = time.time() - t0
                longest = max(longest, result.wall_seconds)
                result.measure(read_events(os.path.join(job_dir, "events.jsonl")), launched)
                if result.tokens_per_s is not None:
                    result.tokens_per_s_per_gpu = result.tokens_per_s / world
                result.status, result.message = exit_status(code, result.status, result.message, "bench_scaling.log")
                print(f"   {result.status} in {result.wall_seconds:.0f}s: {fmt(result.tokens_per_s_per_gpu, ',.0f')} tokens/s per GPU, "
                      f"peak {fmt(result.peak_memory_gib, '.2f')} GiB {result.message}", flush=True)
                if not args.keep:
                    shutil.rmtree(job_dir, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(model_dir, ignore_errors=True)

    add_efficiency(results)
    text = "\n".join(notes) + "\n" + table(results) + "\n"
    with open(os.path.join(out, "bench_scaling.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    write_json(os.path.join(out, "bench_scaling.json"), {
        "notes": notes, "shape": shape, "dtype": dtype, "seq_len": args.seq_len, "micro_batch": args.micro_batch, "accum": args.accum,
        "steps": args.steps, "device": facts, "gpus": available, "total_seconds": time.time() - started,
        "results": [asdict(r) for r in results]})
    print(f"\nlogs: {log_path}; total {time.time() - started:.0f}s\n")
    print(text, end="")
    return 0 if all(r.status in ("ok", "SKIPPED", "OOM") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
