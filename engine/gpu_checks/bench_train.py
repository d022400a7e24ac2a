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
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE_DIR = os.path.join(REPO, "engine")
TOKENIZER_DIR = os.path.join(REPO, "fixtures", "tokenizers", "mistral-7b")

# Llama-2-7B (meta-llama/Llama-2-7b-hf config.json).
LLAMA2_7B: dict[str, Any] = {
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "num_hidden_layers": 32,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
# --tiny: the same architecture and vocabulary, small enough for a CPU.
TINY = {**LLAMA2_7B, "hidden_size": 256, "intermediate_size": 688, "num_attention_heads": 4, "num_key_value_heads": 4, "num_hidden_layers": 2}

CONFIGS = ("lora", "qlora", "full", "lora-padded")
# Full fine-tuning: fp32 master weights, fp32 gradients, fp32 AdamW exp_avg and exp_avg_sq.
FULL_FT_BYTES_PER_PARAM = 16
FIRST_TOKEN_ID = 3  # ids 0–2 are <unk>, <s>, </s>
GiB = 2**30


# ---- model --------------------------------------------------------------------------------------


def parameter_count(shape: dict[str, Any], layers: int) -> int:
    h, i, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    head_dim = h // shape["num_attention_heads"]
    kv = shape["num_key_value_heads"] * head_dim
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * i + 2 * h  # q, o, k, v; gate, up, down; 2 norms
    embeddings = v * h * (1 if shape["tie_word_embeddings"] else 2)
    return layers * per_layer + embeddings + h


def full_ft_bytes(shape: dict[str, Any], layers: int, micro_batch: int, seq_len: int) -> int:
    """fp32 master weights + fp32 gradients + 2 fp32 AdamW moments (16 B/param), plus activations
    with gradient checkpointing: each layer's input kept (fp32: autocast leaves the residual stream
    in the weights' dtype), one layer recomputed in bf16, and the fp32 logits/loss."""
    h, i, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    tokens = micro_batch * seq_len
    state = FULL_FT_BYTES_PER_PARAM * parameter_count(shape, layers)
    kept_inputs = layers * tokens * h * 4
    one_layer = tokens * (6 * h + 3 * i) * 2 * 2
    logits = tokens * v * 4 * 3
    return state + kept_inputs + one_layer + logits + 2 * GiB  # + CUDA context, allocator slack


def full_ft_layers(shape: dict[str, Any], gpu_bytes: int | None, micro_batch: int, seq_len: int) -> int:
    layers = shape["num_hidden_layers"]
    if gpu_bytes is None:
        return layers
    while layers > 1 and full_ft_bytes(shape, layers, micro_batch, seq_len) > 0.9 * gpu_bytes:
        layers -= 1
    return layers


def make_models(args: argparse.Namespace) -> None:
    """(`_make-models` subcommand, in its own process so that the parent never holds GPU memory.)
    Random init of the shape on the device in bf16 (fp32 on --cpu), saved with save_pretrained:
    all layers into --model-dir, and the first --full-layers layers into --full-model-dir when
    fewer. Prints {"gpu_bytes", "gpu_name"} as JSON."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    shape = json.loads(args.shape)
    device = torch.device("cpu" if args.cpu or not torch.cuda.is_available() else "cuda")
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    torch.manual_seed(0)
    config = LlamaConfig(**shape)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    save_model(model, args.model_dir)
    if args.full_model_dir and args.full_layers < shape["num_hidden_layers"]:
        model.model.layers = model.model.layers[: args.full_layers]
        model.config.num_hidden_layers = args.full_layers
        save_model(model, args.full_model_dir)
    facts = {"gpu_bytes": None, "gpu_name": "cpu"}
    if device.type == "cuda":
        facts = {"gpu_bytes": torch.cuda.get_device_properties(device).total_memory, "gpu_name": torch.cuda.get_device_name(device)}
    print(json.dumps(facts))


def save_model(model: Any, folder: str) -> None:
    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(TOKENIZER_DIR, name), os.path.join(tmp, name))
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp, folder)


def gpu_facts() -> dict[str, Any]:
    """Name and total memory of GPU 0, without initialising CUDA in this process (its context would
    hold GPU memory while the engine runs): nvidia-smi, else torch in a child process."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits", "-i", "0"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()
        name, mib = out.rsplit(",", 1)
        return {"gpu_name": name.strip(), "gpu_bytes": int(float(mib)) * 2**20}
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    probe = (
        "import json, torch\n"
        "ok = torch.cuda.is_available()\n"
        "print(json.dumps({'gpu_name': torch.cuda.get_device_name(0) if ok else None,"
        " 'gpu_bytes': torch.cuda.get_device_properties(0).total_memory if ok else None}))"
    )
    try:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return {"gpu_name": None, "gpu_bytes": None}


# ---- synthetic compiled data and job folders (docs/formats.md §2–§3) -----------------------------


def document_lengths(rng: np.random.Generator, n: int, seq_len: int) -> list[int]:
    """Document lengths drawn uniformly from [seq_len/8, seq_len]: a spread like chat data."""
    return [int(x) for x in rng.integers(max(2, seq_len // 8), seq_len + 1, size=n)]


def packed_layout(rng: np.random.Generator, sequences: int, seq_len: int) -> list[list[int]]:
    """Documents of random length packed best-fit-decreasing into packs of at most seq_len tokens,
    as `kielo data compile --pack` does; documents are drawn until there are `sequences` packs,
    and the packs are shuffled (BFD puts the fullest first)."""
    lengths = document_lengths(rng, sequences * 3, seq_len)
    while True:
        packs: list[list[int]] = []
        space: list[int] = []
        for n in sorted(lengths, reverse=True):
            fits = [p for p in range(len(packs)) if space[p] >= n]
            if fits:
                best = min(fits, key=lambda p: space[p])
                packs[best].append(n)
                space[best] -= n
            else:
                packs.append([n])
                space.append(seq_len - n)
        if len(packs) >= sequences:
            order = rng.permutation(len(packs))
            return [packs[i] for i in order]
        lengths += document_lengths(rng, sequences, seq_len)


def write_compiled(folder: str, packs: list[list[int]], packed: bool, seq_len: int, vocab: int, rng: np.random.Generator) -> dict[str, Any]:
    """A compiled SFT folder. Every token is trained except the first of each document (§2)."""
    os.makedirs(folder, exist_ok=True)
    lengths = [n for pack in packs for n in pack]
    total = sum(lengths)
    tokens = rng.integers(FIRST_TOKEN_ID, vocab, size=total, dtype=np.uint32)
    docs = np.zeros(len(lengths) + 1, dtype="<i8")
    docs[1:] = np.cumsum(lengths)
    trained = np.ones(total, dtype=np.uint8)
    trained[docs[:-1]] = 0
    tokens.astype("<u4").tofile(os.path.join(folder, "tokens.bin"))
    trained.tofile(os.path.join(folder, "trained.bin"))
    docs.tofile(os.path.join(folder, "docs.bin"))
    if packed:
        pack_offsets = np.zeros(len(packs) + 1, dtype="<i8")
        pack_offsets[1:] = np.cumsum([len(p) for p in packs])
        pack_offsets.tofile(os.path.join(folder, "packs.bin"))
    with open(os.path.join(folder, "rows.jsonl"), "w", encoding="utf-8") as f:
        for d, n in enumerate(lengths):
            f.write(json.dumps({"id": f"synthetic-{d}", "source": d + 1, "tokens": n, "trained": n - 1, "truncated": False}) + "\n")
    with open(os.path.join(TOKENIZER_DIR, "tokenizer.json"), "rb") as f:
        tokenizer_sha = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        "format": "kielo-compiled", "version": 1, "kind": "sft",
        "tokenizer": {"sha256": tokenizer_sha, "path": TOKENIZER_DIR, "vocab_size": vocab,
                      "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None},
        "template": {"name": "synthetic", "sha256": hashlib.sha256(b"random token ids").hexdigest()},
        "policy": "all", "max_length": seq_len, "truncation": "drop",
        "packing": {"seq_len": seq_len, "algorithm": "best-fit-decreasing"} if packed else None,
        "rows_in": len(lengths), "rows_out": len(lengths), "dropped": {},
        "documents": len(lengths), "sequences": len(packs),
        "tokens": total, "trained_tokens": int(trained.sum()), "truncated": 0,
        "source": {"path": "bench_train.py (random token ids)", "sha256": hashlib.sha256(tokens.tobytes()).hexdigest()},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kielo_version": "0.1.0",
    }
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def write_schedule(path: str, steps: int, accum: int, micro_batch: int) -> None:
    """Sequences in order: step s, micro-batch m takes the next micro_batch sequences."""
    values = [steps, accum]
    seq = 0
    for _ in range(steps):
        for _ in range(accum):
            values.append(micro_batch)
            values.extend(range(seq, seq + micro_batch))
            seq += micro_batch
    np.asarray(values, dtype="<i8").tofile(path)


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
    manifest = write_compiled(os.path.join(job_dir, "data", "train"), packs, cfg.packed, args.seq_len, shape["vocab_size"], rng)
    write_schedule(os.path.join(job_dir, "schedule.bin"), args.steps, args.accum, args.micro_batch)
    adapter = None
    if cfg.adapter is not None:
        adapter = {"type": cfg.adapter, "r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear", "quant": None}
        if cfg.adapter == "qlora":
            adapter["quant"] = {"type": "nf4", "block_size": 64, "double_quant": True, "compute_dtype": dtype}
    job = {
        "format": "kielo-job", "version": 1, "method": "sft", "seed": args.seed,
        "model": {"path": cfg.model_dir, "dtype": dtype, "trust_remote_code": False, "attn_implementation": "sdpa"},
        "adapter": adapter, "init_adapter": None,
        "optim": {"lr": 1e-5, "weight_decay": 0.0, "betas": [0.9, 0.999], "eps": 1e-8, "max_grad_norm": 1.0,
                  "schedule": "constant", "warmup_ratio": 0.0},
        "steps": args.steps, "micro_batches_per_step": args.accum, "micro_batch_size": args.micro_batch,
        "gradient_checkpointing": True, "neftune_alpha": None, "dpo": None, "eval": None,
        "save_every_steps": 0, "keep_checkpoints": 1,
        "output": {"dir": os.path.join(job_dir, "model"), "save": "full" if cfg.adapter is None else "adapter"},
        "log_every_steps": 1,
        "provenance": {"recipe": "engine/gpu_checks/bench_train.py", "train_sha256": manifest["source"]["sha256"],
                       "eval_sha256": None, "kielo_version": "0.1.0"},
        "identity": f"bench-{cfg.name}",
    }
    with open(os.path.join(job_dir, "job.json"), "w", encoding="utf-8") as f:
        json.dump(job, f, indent=2)
    # What padding costs: the tokens the model computes on (micro-batch × its longest sequence);
    # the schedule takes the first `sequences` sequences.
    seq_lengths = [sum(p) for p in packs][:sequences]
    computed = sum(
        args.micro_batch * max(seq_lengths[k * args.micro_batch : (k + 1) * args.micro_batch])
        for k in range(sequences // args.micro_batch)
    )
    return {"real_tokens": sum(seq_lengths), "computed_tokens": computed, "documents": manifest["documents"], "sequences": len(packs)}


# ---- running and measuring ----------------------------------------------------------------------


@dataclass
class Result:
    config: str
    layers: int
    data: str
    status: str = "not run"
    message: str = ""
    params: int | None = None
    trainable_params: int | None = None
    tokens_per_s: float | None = None
    seconds_per_step: float | None = None
    peak_memory_gib: float | None = None
    load_seconds: float | None = None
    wall_seconds: float | None = None
    fill: float | None = None
    steps_timed: int = 0
    step_tokens: list[int] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)


def read_events(path: str) -> list[dict[str, Any]]:
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def measure(result: Result, events: list[dict[str, Any]], launched: float) -> None:
    start = next((e for e in events if e["type"] == "start"), None)
    steps = [e for e in events if e["type"] == "step"]
    done = next((e for e in events if e["type"] == "done"), None)
    error = next((e for e in events if e["type"] == "error"), None)
    if start is not None:
        result.params, result.trainable_params = start["params"], start["trainable_params"]
        result.load_seconds = start["time"] - launched
    result.step_tokens = [int(e["tokens"]) for e in steps]
    result.step_seconds = [e["tokens"] / e["tokens_per_s"] for e in steps if e.get("tokens_per_s")]
    timed = list(zip(result.step_tokens, result.step_seconds))
    timed = timed[1:] if len(timed) > 1 else timed  # the first step warms up kernels
    if timed:
        seconds = sum(s for _, s in timed)
        result.tokens_per_s = sum(t for t, _ in timed) / seconds
        result.seconds_per_step = seconds / len(timed)
        result.steps_timed = len(timed)
    if done is not None:
        result.peak_memory_gib = done["peak_memory_bytes"] / GiB
        result.status = "ok"
    elif error is not None:
        result.status = "OOM" if error.get("kind") == "oom" else "FAIL"
        result.message = error.get("message", "")


def child_env(cpu: bool) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ENGINE_DIR, os.environ.get("PYTHONPATH")) if p),
           "PYTHONUNBUFFERED": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    if cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the engine trains on a GPU whenever torch sees one
    return env


def run_engine(job_dir: str, log, timeout: float, cpu: bool) -> tuple[int | None, float]:
    env = child_env(cpu)
    launched = time.time()
    log.write(f"\n===== {job_dir}: python -m kielo_engine run\n")
    log.flush()
    try:
        proc = subprocess.run([sys.executable, "-m", "kielo_engine", "run", job_dir], stdout=log, stderr=subprocess.STDOUT,
                              env=env, timeout=timeout, check=False)
        return proc.returncode, launched
    except subprocess.TimeoutExpired:
        return None, launched


# ---- output -------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


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


def pick_work_dir(model_bytes: int) -> str:
    """/dev/shm when it can hold the model and a full fine-tune's output (loading is then a memory
    copy), else the temporary folder."""
    try:
        if shutil.disk_usage("/dev/shm").free > 3 * model_bytes + 4 * GiB:
            return "/dev/shm/kielo-bench"
    except OSError:
        pass
    return os.path.join(tempfile.gettempdir(), "kielo-bench")


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
        cmd = [sys.executable, os.path.abspath(__file__), "_make-models", "--shape", json.dumps(shape), "--model-dir", model_dir,
               "--full-model-dir", full_model_dir if "full" in configs else "", "--full-layers", str(full_layers)]
        if args.cpu:
            cmd.append("--cpu")
        print(f"making the random model ({parameter_count(shape, layers) / 1e9:.2f} B parameters) in {work} …", flush=True)
        made = subprocess.run(cmd, capture_output=True, text=True, check=False, env=child_env(args.cpu))
        log.write(f"===== make models\n{made.stdout}{made.stderr}")
        if made.returncode != 0:
            print(made.stderr[-3000:], file=sys.stderr)
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
            result = Result(cfg.name, cfg.layers, "packed" if cfg.packed else "padded")
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
            measure(result, read_events(os.path.join(job_dir, "events.jsonl")), launched)
            if code is None:
                result.status, result.message = "FAIL", "timed out"
            elif code != 0 and result.status == "ok":
                result.status, result.message = "FAIL", f"exit code {code}"
            elif code != 0 and result.status == "not run":
                result.status, result.message = "FAIL", f"exit code {code} before any event; see bench_train.log"
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
    with open(os.path.join(out, "bench_train.json"), "w", encoding="utf-8") as f:
        json.dump({"notes": notes, "shape": shape, "dtype": dtype, "seq_len": args.seq_len, "micro_batch": args.micro_batch,
                   "accum": args.accum, "steps": args.steps, "device": facts, "full_ft_layers": full_layers,
                   "make_model_seconds": make_seconds, "total_seconds": time.time() - started,
                   "results": [asdict(r) for r in results]}, f, indent=2)
    print(f"\nlogs: {log_path}; total {time.time() - started:.0f}s\n")
    print(text, end="")
    return 0 if all(r.status in ("ok", "SKIPPED") for r in results) else 1


def make_models_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_train.py _make-models")
    parser.add_argument("--shape", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--full-model-dir", default="")
    parser.add_argument("--full-layers", type=int, required=True)
    parser.add_argument("--cpu", action="store_true")
    make_models(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_make-models":
        sys.exit(make_models_main(sys.argv[2:]))
    sys.exit(main())
