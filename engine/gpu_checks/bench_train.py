"""Training throughput and peak memory of kielo's REAL training loop on a Llama-2-7B-shaped model.

    python3 engine/gpu_checks/bench_train.py              # GPU host (one H100 80GB: about 5 minutes)
    python3 engine/gpu_checks/bench_train.py --cpu --tiny  # any machine, under a minute: the same code path

Random init, real shapes: the model is a randomly initialised LlamaForCausalLM with the shapes of
Llama-2-7B (hidden 4096, intermediate 11008, 32 heads, 32 layers, vocab 32000) saved with
`save_pretrained`, next to the Mistral-7B tokenizer (same 32000-token vocabulary) from
fixtures/tokenizers. No pretrained 7B model is available offline; for speed and memory only the
shapes matter. Its loss numbers mean nothing.

Every configuration is one job folder written by this script exactly as docs/formats.md §2–§3
describe (compiled arrays + manifest, schedule.bin, job.json), with synthetic random token ids,
and trained by the engine itself: `python -m kielo_engine run JOB` in a fresh process, so each
configuration starts with an empty GPU. Numbers come from the engine's own events:
- tokens/s: real (non-padding) tokens of the timed steps / their seconds; the first step (CUDA
  kernels chosen and warmed up) is not timed;
- peak memory: the engine's `done` event, torch.cuda.max_memory_allocated (tensors only);
- load s: from starting the engine to its `start` event (model load, NF4 quantisation, LoRA).

Configurations (--configs): `lora` (LoRA r16 α32 dropout 0.05, all-linear, bf16 base), `qlora`
(the same adapter on the engine's own NF4 base, block 64, double quantisation, bf16 compute),
`full` (full fine-tune), each on packed sequences (documents of random length, uniform in
[seq/8, seq], packed best-fit-decreasing into sequences of at most seq tokens; attention never
crosses documents), and `lora-padded` (the same LoRA on documents of the same kind, one per
sequence, right-padded to the longest of the micro-batch): packing vs padding. `fill` is the share
of the computed positions that are real tokens.

Full fine-tuning in bf16 keeps fp32 master weights, fp32 gradients and fp32 AdamW moments and
computes in bf16 (autocast): 16 bytes per parameter, about 100 GiB for all 32 layers — more than
one 80 GB GPU. Before running it the script estimates the memory (those 16 B/param plus
activations) and uses the most layers that fit in 90 % of the GPU, and prints the layers used.

Writes to $OUT (or --out): bench_train.txt (the table), bench_train.json (every number),
bench_train.log (the engine's output). Prints the table last. Exit code 1 if a configuration failed.
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
    FULL_FT_BYTES_PER_PARAM,
    LLAMA2_7B,
    TINY,
    EngineRun,
    GiB,
    document_lengths,
    exit_status,
    fmt,
    full_ft_bytes,
    full_ft_layers,
    gpu_facts,
    job_spec,
    make_models_in_child,
    packed_layout,
    parameter_count,
    pick_work_dir,
    read_events,
    run_engine,
    sequential_schedule,
    write_compiled,
    write_json,
    write_schedule,
)

# Re-exported for test/gpu/bench-train.test.ts, which checks the 7B arithmetic through this module.
__all__ = ["LLAMA2_7B", "full_ft_bytes", "full_ft_layers", "parameter_count", "main"]

CONFIGS = ("lora", "qlora", "full", "lora-padded")


@dataclass
class Config:
    name: str
    adapter: str | None  # None (full), "lora", "qlora"
    packed: bool
    layers: int
    model_dir: str


def write_job(job_dir: str, cfg: Config, args: argparse.Namespace, shape: dict[str, Any], dtype: str) -> dict[str, Any]:
    shutil.rmtree(job_dir, ignore_errors=True)
    rng = np.random.default_rng(args.seed)
    sequences = args.steps * args.accum * args.micro_batch
    if cfg.packed:
        packs = packed_layout(rng, sequences, args.seq_len)
    else:
        packs = [[n] for n in document_lengths(rng, sequences, args.seq_len)]
    # Every token is trained except the first of each document (§2).
    docs = [(n, 1) for pack in packs for n in pack]
    manifest = write_compiled(os.path.join(job_dir, "data", "train"), docs, [len(p) for p in packs] if cfg.packed else None,
                              "sft", args.seq_len, shape["vocab_size"], rng, "bench_train.py")
    write_schedule(os.path.join(job_dir, "schedule.bin"), sequential_schedule(args.steps, args.accum, args.micro_batch))
    job = job_spec(job_dir, cfg.model_dir, "sft", cfg.adapter, dtype, args.steps, args.accum, args.micro_batch, args.seed,
                   "engine/gpu_checks/bench_train.py", manifest["source"]["sha256"])
    job["identity"] = f"bench-{cfg.name}"
    write_json(os.path.join(job_dir, "job.json"), job)
    # What padding costs: the tokens the model computes on (micro-batch × its longest sequence);
    # the schedule takes the first `sequences` sequences.
    seq_lengths = [sum(p) for p in packs][:sequences]
    computed = sum(
        args.micro_batch * max(seq_lengths[k * args.micro_batch : (k + 1) * args.micro_batch])
        for k in range(sequences // args.micro_batch)
    )
    return {"real_tokens": sum(seq_lengths), "computed_tokens": computed, "documents": manifest["documents"], "sequences": len(packs)}


# ---- running and measuring ----------------------------------------------------------------------


@dataclass(kw_only=True)
class Result(EngineRun):
    config: str
    layers: int
    data: str
    fill: float | None = None


# ---- output -------------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    header = f"{'config':<12} {'layers':>6} {'data':<7} {'trainable':>10} {'tokens/s (real)':>15} {'fill':>5} {'peak GiB':>8} {'s/step':>7} {'load s':>6}  status"
    lines = [header]
    for r in results:
        trainable = "-" if r.trainable_params is None else f"{r.trainable_params / 1e6:.1f}M"
        fill = "-" if r.fill is None else f"{r.fill:.0%}"
        status = r.status + (f": {r.message[:90]}" if r.message else "")
        lines.append(
            f"{r.config:<12} {r.layers:>6} {r.data:<7} {trainable:>10} {fmt(r.tokens_per_s, ',.0f'):>15} {fill:>5} "
            f"{fmt(r.peak_memory_gib, '.1f'):>8} {fmt(r.seconds_per_step, '.2f'):>7} {fmt(r.load_seconds, '.0f'):>6}  {status}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Throughput (real tokens/s) and peak memory of kielo's training loop on a Llama-2-7B-shaped model "
        "(random init, real shapes): LoRA, QLoRA (NF4), full fine-tune; packing vs padding.",
    )
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (fp32), for trying the script without a GPU")
    parser.add_argument("--tiny", action="store_true", help="2 layers, hidden 256, seq 256 (vocab still 32000)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from {', '.join(CONFIGS)} (default: all, in this order)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per configuration; the first is not timed (default 4)")
    parser.add_argument("--micro-batch", type=int, default=2, help="sequences per micro-batch (default 2)")
    parser.add_argument("--accum", type=int, default=2, help="micro-batches per optimizer step (default 2)")
    parser.add_argument("--seq-len", type=int, default=None, help="sequence length (default 2048; 256 with --tiny)")
    parser.add_argument("--layers", type=int, default=None, help="decoder layers (default 32; 2 with --tiny)")
    parser.add_argument("--full-layers", type=int, default=None, help="layers for the full fine-tune (default: the most whose estimate fits 90 %% of the GPU)")
    parser.add_argument("--work", default=None, help="folder for the model and job folders (default /dev/shm/kielo-bench if it fits, else $TMPDIR/kielo-bench)")
    parser.add_argument("--out", default=os.environ.get("OUT") or None, help="folder for bench_train.{txt,json,log} (default $OUT, else <work>/out)")
    parser.add_argument("--budget-s", type=float, default=450.0, help="stop starting configurations when the next would end after this many seconds (default 450)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic token ids and of training (default 0)")
    parser.add_argument("--keep", action="store_true", help="keep the model and job folders")
    args = parser.parse_args(argv)

    started = time.time()
    shape = dict(TINY if args.tiny else LLAMA2_7B)
    if args.layers is not None:
        shape["num_hidden_layers"] = args.layers
    args.seq_len = args.seq_len or (256 if args.tiny else 2048)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        parser.error(f"--configs: unknown {unknown} (choose from {', '.join(CONFIGS)})")
    if args.steps < 1 or args.micro_batch < 1 or args.accum < 1 or args.seq_len < 16:
        parser.error("--steps, --micro-batch and --accum must be ≥ 1, --seq-len ≥ 16")

    layers = shape["num_hidden_layers"]
    dtype = "fp32" if args.cpu else "bf16"
    model_bytes = parameter_count(shape, layers) * (4 if args.cpu else 2)
    work = os.path.abspath(args.work or pick_work_dir(model_bytes))
    out = os.path.abspath(args.out or os.path.join(work, "out"))
    os.makedirs(work, exist_ok=True)
    os.makedirs(out, exist_ok=True)

    facts = {"gpu_name": "cpu", "gpu_bytes": None} if args.cpu else gpu_facts()
    if not args.cpu and facts["gpu_bytes"] is None:
        print("bench_train: no GPU found (nvidia-smi, torch.cuda); run with --cpu --tiny to try the script on the CPU", file=sys.stderr)
        return 2
    full_layers = args.full_layers or full_ft_layers(shape, facts["gpu_bytes"], args.micro_batch, args.seq_len)
    if not 1 <= full_layers <= layers:
        parser.error(f"--full-layers must be between 1 and {layers}")
    model_dir = os.path.join(work, f"model-{layers}l")
    full_model_dir = model_dir if full_layers == layers else os.path.join(work, f"model-{full_layers}l")

    notes = [
        f"bench_train: random init, real shapes ({'tiny Llama' if args.tiny else 'Llama-2-7B'}: hidden {shape['hidden_size']}, "
        f"intermediate {shape['intermediate_size']}, {shape['num_attention_heads']} heads, {layers} layers, vocab {shape['vocab_size']}); "
        f"{dtype}, gradient checkpointing, sdpa, seq {args.seq_len}, micro-batch {args.micro_batch} × {args.accum} accumulation, "
        f"{args.steps} steps (first not timed); device {facts['gpu_name']}",
    ]
    if "full" in configs:
        need = full_ft_bytes(shape, layers, args.micro_batch, args.seq_len)
        if facts["gpu_bytes"] is None or args.full_layers is not None:
            notes.append(f"full fine-tune: fp32 master weights, gradients and AdamW moments, {dtype} compute; {full_layers} of {layers} layers")
        else:
            notes.append(
                f"full fine-tune: fp32 master weights + fp32 gradients + fp32 AdamW moments = {FULL_FT_BYTES_PER_PARAM} B/param, "
                f"bf16 compute; estimated {need / GiB:.1f} GiB with activations at {layers} layers vs "
                f"{0.9 * facts['gpu_bytes'] / GiB:.1f} GiB usable (90 % of {facts['gpu_bytes'] / GiB:.1f}): "
                + (f"fits, all {layers} layers" if full_layers == layers
                   else f"does not fit: {full_layers} layers ({full_ft_bytes(shape, full_layers, args.micro_batch, args.seq_len) / GiB:.1f} GiB)")
            )
    print("\n".join(notes), flush=True)

    log_path = os.path.join(out, "bench_train.log")
    results: list[Result] = []
    with open(log_path, "w", encoding="utf-8") as log:
        # The models, made once in a child process.
        t0 = time.time()
        dirs = {model_dir: layers}
        if "full" in configs:
            dirs[full_model_dir] = full_layers
        print(f"making the random model ({parameter_count(shape, layers) / 1e9:.2f} B parameters) in {work} …", flush=True)
        ok, error = make_models_in_child([{"shape": shape, "dirs": dirs}], args.cpu, log)
        if not ok:
            print(error, file=sys.stderr)
            print("bench_train: could not make the random model", file=sys.stderr)
            return 1
        make_seconds = time.time() - t0
        print(f"model saved in {make_seconds:.0f}s", flush=True)

        plan = []
        for name in configs:
            adapter = None if name == "full" else ("qlora" if name == "qlora" else "lora")
            cfg_layers = full_layers if name == "full" else layers
            plan.append(Config(name, adapter, packed=name != "lora-padded", layers=cfg_layers,
                               model_dir=full_model_dir if name == "full" else model_dir))
        longest = 0.0
        for cfg in plan:
            result = Result(config=cfg.name, layers=cfg.layers, data="packed" if cfg.packed else "padded")
            results.append(result)
            elapsed = time.time() - started
            # The next run takes about as long as the longest so far (a full fine-tune also saves the model).
            estimate = max(longest, 60.0 if not args.tiny else 5.0) * (1.5 if cfg.adapter is None else 1.0)
            if elapsed + estimate > args.budget_s:
                result.status = "SKIPPED"
                result.message = f"time budget: {elapsed:.0f}s used of {args.budget_s:.0f}s"
                print(f"-- {cfg.name}: skipped ({result.message})", flush=True)
                continue
            job_dir = os.path.join(work, f"job-{cfg.name}")
            counts = write_job(job_dir, cfg, args, shape, dtype)
            result.fill = counts["real_tokens"] / counts["computed_tokens"]
            print(f"-- {cfg.name}: {cfg.layers} layers, {'packed' if cfg.packed else 'padded'} data "
                  f"({counts['documents']} documents in {counts['sequences']} sequences, {args.steps * args.accum * args.micro_batch} trained on)", flush=True)
            t0 = time.time()
            code, launched = run_engine(job_dir, log, timeout=max(120.0, args.budget_s + 120.0 - elapsed), cpu=args.cpu)
            result.wall_seconds = time.time() - t0
            longest = max(longest, result.wall_seconds)
            result.measure(read_events(os.path.join(job_dir, "events.jsonl")), launched)
            result.status, result.message = exit_status(code, result.status, result.message, "bench_train.log")
            print(f"   {result.status} in {result.wall_seconds:.0f}s: {fmt(result.tokens_per_s, ',.0f')} real tokens/s, "
                  f"peak {fmt(result.peak_memory_gib, '.2f')} GiB {result.message}", flush=True)
            if not args.keep:
                shutil.rmtree(job_dir, ignore_errors=True)
    if not args.keep:
        for folder in {model_dir, full_model_dir}:
            shutil.rmtree(folder, ignore_errors=True)

    text = "\n".join(notes) + "\n" + table(results) + "\n"
    with open(os.path.join(out, "bench_train.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    write_json(os.path.join(out, "bench_train.json"), {
        "notes": notes, "shape": shape, "dtype": dtype, "seq_len": args.seq_len, "micro_batch": args.micro_batch,
        "accum": args.accum, "steps": args.steps, "device": facts, "full_ft_layers": full_layers,
        "make_model_seconds": make_seconds, "total_seconds": time.time() - started,
        "results": [asdict(r) for r in results]})
    print(f"\nlogs: {log_path}; total {time.time() - started:.0f}s\n")
    print(text, end="")
    return 0 if all(r.status in ("ok", "SKIPPED") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
