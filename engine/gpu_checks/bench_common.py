"""What the training benchmarks share (bench_train.py, bench_speed.py): model shapes and their
arithmetic, random-init models saved with save_pretrained, synthetic compiled data and job folders
as docs/formats.md §2–§3 describe them, and running the engine in a fresh process.

Every model made here is RANDOMLY INITIALISED with real shapes: speed and memory are real, losses
mean nothing. `python3 bench_common.py make-models SPEC` is the child process that makes them, so
that the parent never initialises CUDA (its context would hold GPU memory while the runs go on).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

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
# TinyLlama-1.1B (TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T config.json): grouped-query
# attention, 4 KV heads of 32, the same 32000-token vocabulary.
TINYLLAMA_1B: dict[str, Any] = {
    **LLAMA2_7B,
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "num_hidden_layers": 22,
    "max_position_embeddings": 2048,
}
# --tiny: the same architectures and vocabulary, small enough for a CPU.
TINY = {**LLAMA2_7B, "hidden_size": 256, "intermediate_size": 688, "num_attention_heads": 4, "num_key_value_heads": 4, "num_hidden_layers": 2}
TINY_GQA = {**TINYLLAMA_1B, "hidden_size": 128, "intermediate_size": 352, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2}

# Full fine-tuning: fp32 master weights, fp32 gradients, fp32 AdamW exp_avg and exp_avg_sq.
FULL_FT_BYTES_PER_PARAM = 16
FIRST_TOKEN_ID = 3  # ids 0–2 are <unk>, <s>, </s>
GiB = 2**30


# ---- model arithmetic ---------------------------------------------------------------------------


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


# ---- random-init models (child process) ---------------------------------------------------------


def make_models(spec: list[dict[str, Any]], cpu: bool) -> dict[str, Any]:
    """Each entry {"shape", "dirs": {folder: layers}}: one random init of the shape on the device in
    bf16 (fp32 on the CPU), saved with save_pretrained into every folder with its first `layers`
    layers (most layers first). Returns {"gpu_bytes", "gpu_name"}."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    device = torch.device("cpu" if cpu or not torch.cuda.is_available() else "cuda")
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    for entry in spec:
        torch.manual_seed(0)
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(LlamaConfig(**entry["shape"]), dtype=dtype)
        for folder, layers in sorted(entry["dirs"].items(), key=lambda item: -item[1]):
            model.model.layers = model.model.layers[:layers]
            model.config.num_hidden_layers = layers
            save_model(model, folder)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if device.type == "cuda":
        return {"gpu_bytes": torch.cuda.get_device_properties(device).total_memory, "gpu_name": torch.cuda.get_device_name(device)}
    return {"gpu_bytes": None, "gpu_name": "cpu"}


def save_model(model: Any, folder: str) -> None:
    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(TOKENIZER_DIR, name), os.path.join(tmp, name))
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp, folder)


def make_models_in_child(spec: list[dict[str, Any]], cpu: bool, log: TextIO) -> tuple[bool, str]:
    """Runs make_models in a fresh process; (ok, its stderr tail)."""
    cmd = [sys.executable, os.path.abspath(__file__), "make-models", json.dumps(spec)] + (["--cpu"] if cpu else [])
    made = subprocess.run(cmd, capture_output=True, text=True, check=False, env=child_env(cpu))
    log.write(f"===== make models\n{made.stdout}{made.stderr}")
    log.flush()
    return made.returncode == 0, made.stderr[-3000:]


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


def gpu_count() -> int:
    """GPUs on this host, without initialising CUDA here: nvidia-smi, else torch in a child process."""
    try:
        out = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True, timeout=60, check=True).stdout
        return sum(1 for line in out.splitlines() if line.startswith("GPU "))
    except (OSError, subprocess.SubprocessError):
        pass
    probe = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"
    try:
        return int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True).stdout.split()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return 0


def pick_work_dir(model_bytes: int) -> str:
    """/dev/shm when it can hold the models and a full fine-tune's output (loading is then a memory
    copy), else the temporary folder."""
    try:
        if shutil.disk_usage("/dev/shm").free > 3 * model_bytes + 4 * GiB:
            return "/dev/shm/kielo-bench"
    except OSError:
        pass
    return os.path.join(tempfile.gettempdir(), "kielo-bench")


# ---- synthetic compiled data and job folders (docs/formats.md §2–§3) -----------------------------


def best_fit_decreasing(lengths: list[int], capacity: int) -> list[list[int]]:
    """Indices of `lengths` packed best-fit-decreasing into bins of at most `capacity` tokens, as
    `kielo data compile --pack` does (src/compile/pack.ts)."""
    packs: list[list[int]] = []
    space: list[int] = []
    for d in sorted(range(len(lengths)), key=lambda k: -lengths[k]):
        n = lengths[d]
        fits = [p for p in range(len(packs)) if space[p] >= n]
        if fits:
            best = min(fits, key=lambda p: space[p])
            packs[best].append(d)
            space[best] -= n
        else:
            packs.append([d])
            space.append(capacity - n)
    return packs


def document_lengths(rng: np.random.Generator, n: int, seq_len: int) -> list[int]:
    """Document lengths drawn uniformly from [seq_len/8, seq_len]: a spread like chat data."""
    return [int(x) for x in rng.integers(max(2, seq_len // 8), seq_len + 1, size=n)]


def packed_layout(rng: np.random.Generator, sequences: int, seq_len: int) -> list[list[int]]:
    """Documents of random length packed best-fit-decreasing into packs of at most seq_len tokens,
    as `kielo data compile --pack` does; documents are drawn until there are `sequences` packs,
    and the packs are shuffled (BFD puts the fullest first). Returns each pack's document lengths."""
    lengths = document_lengths(rng, sequences * 3, seq_len)
    while True:
        packs = [[lengths[d] for d in pack] for pack in best_fit_decreasing(lengths, seq_len)]
        if len(packs) >= sequences:
            order = rng.permutation(len(packs))
            return [packs[i] for i in order]
        lengths += document_lengths(rng, sequences, seq_len)


def write_compiled(
    folder: str,
    docs: list[tuple[int, int]],
    packs: list[int] | None,
    kind: str,
    seq_len: int,
    vocab: int,
    rng: np.random.Generator,
    label: str,
) -> dict[str, Any]:
    """A compiled folder of random token ids. `docs`: (tokens, untrained prefix ≥ 1) per document,
    stored in this order; `packs`: the number of documents of each pack (a pack's documents are
    stored contiguously, pack 0's first), or None when not packed. Preference data (`kind` "preference") holds
    documents in twos, prompt + chosen and prompt + rejected, with the same prompt ids in both."""
    os.makedirs(folder, exist_ok=True)
    lengths = [n for n, _ in docs]
    total = sum(lengths)
    tokens = rng.integers(FIRST_TOKEN_ID, vocab, size=total, dtype=np.uint32)
    offsets = np.zeros(len(docs) + 1, dtype="<i8")
    offsets[1:] = np.cumsum(lengths)
    trained = np.ones(total, dtype=np.uint8)
    for d, (_, prompt) in enumerate(docs):
        trained[offsets[d] : offsets[d] + prompt] = 0
    if kind == "preference":
        for d in range(0, len(docs), 2):
            prompt = docs[d][1]
            tokens[offsets[d + 1] : offsets[d + 1] + prompt] = tokens[offsets[d] : offsets[d] + prompt]
    tokens.astype("<u4").tofile(os.path.join(folder, "tokens.bin"))
    trained.tofile(os.path.join(folder, "trained.bin"))
    offsets.tofile(os.path.join(folder, "docs.bin"))
    if packs is not None:
        pack_offsets = np.zeros(len(packs) + 1, dtype="<i8")
        pack_offsets[1:] = np.cumsum(packs)
        pack_offsets.tofile(os.path.join(folder, "packs.bin"))
    with open(os.path.join(folder, "rows.jsonl"), "w", encoding="utf-8") as f:
        for d, (n, prompt) in enumerate(docs):
            row: dict[str, Any] = {"id": f"synthetic-{d}", "source": d + 1}
            if kind == "preference":
                row["source"] = d // 2 + 1
                row["part"] = "chosen" if d % 2 == 0 else "rejected"
            f.write(json.dumps({**row, "tokens": n, "trained": n - prompt, "truncated": False}) + "\n")
    with open(os.path.join(TOKENIZER_DIR, "tokenizer.json"), "rb") as f:
        tokenizer_sha = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        "format": "kielo-compiled", "version": 1, "kind": kind,
        "tokenizer": {"sha256": tokenizer_sha, "path": TOKENIZER_DIR, "vocab_size": vocab,
                      "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None},
        "template": {"name": "synthetic", "sha256": hashlib.sha256(b"random token ids").hexdigest()},
        "policy": "completion" if kind == "preference" else ("all" if all(p == 1 for _, p in docs) else "assistant"),
        "max_length": seq_len, "truncation": "drop",
        "packing": {"seq_len": seq_len, "algorithm": "best-fit-decreasing"} if packs is not None else None,
        "rows_in": len(docs) // (2 if kind == "preference" else 1), "rows_out": len(docs) // (2 if kind == "preference" else 1),
        "dropped": {}, "documents": len(docs),
        "sequences": len(packs) if packs is not None else len(docs) // (2 if kind == "preference" else 1),
        "tokens": total, "trained_tokens": int(trained.sum()), "truncated": 0,
        "source": {"path": f"{label} (random token ids)", "sha256": hashlib.sha256(tokens.tobytes()).hexdigest()},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kielo_version": "0.1.0",
    }
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def write_schedule(path: str, steps: list[list[list[int]]], variable: bool = False) -> int:
    """schedule.bin (docs/formats.md §3): [n_steps, micro_batches_per_step, then n, seq… for every
    micro-batch]; `variable` (micro-batches by token budget): micro_batches_per_step 0 and each step
    starts with its own count. Returns the micro_batches_per_step written."""
    per_step = 0 if variable else len(steps[0])
    values = [len(steps), per_step]
    for step in steps:
        if variable:
            values.append(len(step))
        for micro in step:
            values.append(len(micro))
            values.extend(micro)
    np.asarray(values, dtype="<i8").tofile(path)
    return per_step


def split_by_tokens(batch: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    """One step's sequences in micro-batches of at most `budget` tokens, first-fit decreasing
    (longest first, into the first micro-batch it fits; a longer one alone): what `kielo train`
    schedules for `training.micro_batch_tokens` on one GPU (src/train/schedule.ts, splitByTokens)."""
    bins: list[tuple[list[int], int]] = []
    for s in sorted(batch, key=lambda q: -lengths[q]):
        fit = next((k for k, (_, tokens) in enumerate(bins) if tokens + lengths[s] <= budget), None)
        if fit is None:
            bins.append(([s], lengths[s]))
        else:
            bins[fit][0].append(s)
            bins[fit] = (bins[fit][0], bins[fit][1] + lengths[s])
    return [seqs for seqs, _ in bins]


def sequential_schedule(steps: int, accum: int, micro_batch: int) -> list[list[list[int]]]:
    """Sequences in order: step s, micro-batch m takes the next micro_batch sequences."""
    seqs = iter(range(steps * accum * micro_batch))
    return [[[next(seqs) for _ in range(micro_batch)] for _ in range(accum)] for _ in range(steps)]


def job_spec(job_dir: str, model_dir: str, method: str, adapter: str | None, dtype: str, steps: int, accum: int,
             micro_batch: int, seed: int, recipe: str, train_sha256: str) -> dict[str, Any]:
    """job.json (docs/formats.md §3) for a benchmark run: LoRA r 16, α 32, dropout 0.05 on every
    linear layer (QLoRA: the engine's NF4, block 64, double quantisation), constant lr, no eval,
    no checkpoints, gradient checkpointing, sdpa. `accum` is micro_batches_per_step (0: it varies
    from step to step, micro-batches by token budget)."""
    spec: dict[str, Any] | None = None
    if adapter is not None:
        spec = {"type": adapter, "r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear", "quant": None}
        if adapter == "qlora":
            spec["quant"] = {"type": "nf4", "block_size": 64, "double_quant": True, "compute_dtype": dtype}
    return {
        "format": "kielo-job", "version": 1, "method": method, "seed": seed,
        "model": {"path": model_dir, "dtype": dtype, "trust_remote_code": False, "attn_implementation": "sdpa"},
        "adapter": spec, "init_adapter": None,
        "optim": {"lr": 1e-5, "weight_decay": 0.0, "betas": [0.9, 0.999], "eps": 1e-8, "max_grad_norm": 1.0,
                  "schedule": "constant", "warmup_ratio": 0.0},
        "steps": steps, "micro_batches_per_step": accum, "micro_batch_size": micro_batch,
        "gradient_checkpointing": True, "neftune_alpha": None,
        "dpo": {"beta": 0.1, "loss": "sigmoid", "label_smoothing": 0.0, "reference": "adapter-disabled"} if method == "dpo" else None,
        "eval": None, "save_every_steps": 0, "keep_checkpoints": 1,
        "output": {"dir": os.path.join(job_dir, "model"), "save": "full" if adapter is None else "adapter"},
        "log_every_steps": 1,
        "provenance": {"recipe": recipe, "train_sha256": train_sha256, "eval_sha256": None, "kielo_version": "0.1.0"},
        "identity": f"bench-{os.path.basename(job_dir)}",
    }


def write_json(path: str, obj: Any) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


# ---- running the engine -------------------------------------------------------------------------


def child_env(cpu: bool) -> dict[str, str]:
    """The environment of a measured process: engine/ first on PYTHONPATH, then what the caller had
    (the GPU wheels: Liger, whose kernels the engine uses where installed, and bitsandbytes).
    KIELO_NF4 is left out: the engine quantises with its own NF4 unless that variable asks for
    bitsandbytes (kielo_engine/nf4.py, nf4_backend), and the benchmarks measure kielo's own."""
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ENGINE_DIR, *inherited]), "PYTHONUNBUFFERED": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    env.pop("KIELO_NF4", None)
    if cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the engine trains on a GPU whenever torch sees one
    return env


def run_child(cmd: list[str], title: str, log: TextIO, timeout: float, cpu: bool) -> tuple[int | None, float]:
    """Runs one measured process, its output into the log; (exit code or None on timeout, start time)."""
    launched = time.time()
    log.write(f"\n===== {title}: {' '.join(cmd)}\n")
    log.flush()
    try:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=child_env(cpu), timeout=timeout, check=False)
        return proc.returncode, launched
    except subprocess.TimeoutExpired:
        return None, launched


def run_engine(job_dir: str, log: TextIO, timeout: float, cpu: bool) -> tuple[int | None, float]:
    return run_child([sys.executable, "-m", "kielo_engine", "run", job_dir], job_dir, log, timeout, cpu)


def exit_status(code: int | None, status: str, message: str, log_name: str) -> tuple[str, str]:
    """A run's status once its process ended: what its events said, unless the exit code says worse."""
    if code is None:
        return "FAIL", "timed out"
    if code != 0 and status == "ok":
        return "FAIL", f"exit code {code}"
    if code != 0 and status == "not run":
        return "FAIL", f"exit code {code} before any result; see {log_name}"
    return status, message


def read_events(path: str) -> list[dict[str, Any]]:
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def engine_numbers(events: list[dict[str, Any]], launched: float) -> dict[str, Any]:
    """What one engine run measured, from its events.jsonl (docs/formats.md §3): status ("ok" once
    `done`, "OOM"/"FAIL" on `error`, else "not run"), params, per-step real tokens, seconds (from the
    engine's own tokens_per_s) and DPO pairs, peak memory, and load seconds (start → `start` event)."""
    start = next((e for e in events if e["type"] == "start"), None)
    steps = [e for e in events if e["type"] == "step" and e.get("tokens_per_s")]
    done = next((e for e in events if e["type"] == "done"), None)
    error = next((e for e in events if e["type"] == "error"), None)
    out: dict[str, Any] = {
        "status": "not run", "message": "", "params": None, "trainable_params": None, "load_seconds": None,
        "step_tokens": [int(e["tokens"]) for e in steps],
        "step_seconds": [e["tokens"] / e["tokens_per_s"] for e in steps],
        "step_pairs": [int(e.get("pairs") or 0) for e in steps],
        "step_loss": [e.get("loss") for e in steps],
        "peak_memory_bytes": None,
    }
    if start is not None:
        out.update(params=start["params"], trainable_params=start["trainable_params"], load_seconds=start["time"] - launched)
        # What the engine chose (newer engines say so in `start`): attention, flat or padded rows, checkpointing, kernels.
        out["engine"] = {k: start[k] for k in ("attention", "layout", "gradient_checkpointing", "kernels") if k in start}
    if done is not None:
        out.update(status="ok", peak_memory_bytes=done["peak_memory_bytes"])
    elif error is not None:
        out.update(status="OOM" if error.get("kind") == "oom" else "FAIL", message=error.get("message", ""))
    return out


@dataclass(kw_only=True)
class EngineRun:
    """What one engine run measured (bench_train.py, bench_scaling.py: each adds its own fields)."""

    status: str = "not run"
    message: str = ""
    params: int | None = None
    trainable_params: int | None = None
    tokens_per_s: float | None = None
    seconds_per_step: float | None = None
    peak_memory_gib: float | None = None
    load_seconds: float | None = None
    wall_seconds: float | None = None
    steps_timed: int = 0
    step_tokens: list[int] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)

    def measure(self, events: list[dict[str, Any]], launched: float) -> None:
        numbers = engine_numbers(events, launched)
        self.status, self.message = numbers["status"], numbers["message"]
        self.params, self.trainable_params, self.load_seconds = numbers["params"], numbers["trainable_params"], numbers["load_seconds"]
        self.step_tokens, self.step_seconds = numbers["step_tokens"], numbers["step_seconds"]
        self.tokens_per_s, self.seconds_per_step, self.steps_timed = timed_rate(self.step_tokens, self.step_seconds)
        if numbers["peak_memory_bytes"] is not None:
            self.peak_memory_gib = numbers["peak_memory_bytes"] / GiB


def timed_rate(counts: list[float], seconds: list[float]) -> tuple[float | None, float | None, int]:
    """(count per second, seconds per step, steps timed) over the steps after the first, which
    warms up kernels (all steps when there is only one)."""
    timed = list(zip(counts, seconds))
    timed = timed[1:] if len(timed) > 1 else timed
    total = sum(s for _, s in timed)
    if not timed or total <= 0:
        return None, None, 0
    return sum(c for c, _ in timed) / total, total / len(timed), len(timed)


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "make-models":
        print(json.dumps(make_models(json.loads(argv[1]), cpu="--cpu" in argv[2:])))
        return 0
    print("usage: bench_common.py make-models SPEC_JSON [--cpu]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
