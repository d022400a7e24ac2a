"""Shared pytest fixtures for the engine tests (CPU, the real tiny model `stories260K`)."""

from __future__ import annotations

import json as _json
import os
import random as _random
import subprocess as _subprocess
import sys
import sys as _sys
from dataclasses import dataclass as _dataclass
from dataclasses import field as _field
from pathlib import Path

import numpy as _np
import pytest
import torch

# The engine under test is this checkout's, whatever `kielo_engine` the environment has installed
# (several checkouts can share one virtual environment). No module above imports it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_MODEL = REPO_ROOT / "fixtures" / "models" / "stories260K" / "hf"

# Every event the engine emits in these tests (in this process and in engine subprocesses, which
# inherit the environment) is validated against events.schema.json, generated from the CLI's own
# definition (src/engine/events.ts): an event the CLI would not understand fails the test.
os.environ["KIELO_CHECK_EVENTS"] = "1"

# Tests never reach the Hugging Face Hub: everything is a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# One torch thread: the tiny model gains nothing from more, and on a busy 2-core machine competing
# threads make its matrix products 20–50 times slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_model_path() -> str:
    """The real pretrained 260K-parameter Llama (TinyStories), in Hugging Face format."""
    assert (TINY_MODEL / "model.safetensors").is_file(), f"missing test model at {TINY_MODEL}"
    return str(TINY_MODEL)


# ---- Job folders for the training-loop tests (test_job/test_data/test_train/test_resume/…) ------
# A small writer of compiled data (docs/formats.md §2) for synthetic unit cases, and of schedules
# (§3). Data from real rows is compiled by the real `kielo data compile` (`kielo_compile` below).

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ENGINE_DIR = REPO_ROOT / "engine"


@_dataclass
class Doc:
    tokens: list[int]
    trained: list[int]
    id: str = ""


@_dataclass
class CompiledSet:
    kind: str  # "sft" | "preference"
    docs: list[Doc]
    packs: list[list[int]] | None = None  # document indices per pack (SFT only)
    extra_manifest: dict = _field(default_factory=dict)

    @property
    def sequences(self) -> int:
        if self.kind == "preference":
            return len(self.docs) // 2
        return len(self.packs) if self.packs is not None else len(self.docs)


def write_compiled(folder: Path, data: CompiledSet) -> Path:
    """Writes a compiled data folder exactly as docs/formats.md §2 lays it out."""
    folder.mkdir(parents=True, exist_ok=True)
    order = [d for pack in data.packs for d in pack] if data.packs is not None else list(range(len(data.docs)))
    assert sorted(order) == list(range(len(data.docs))), "packs must cover every document once"
    docs = [data.docs[i] for i in order]  # packed documents are stored contiguously
    tokens = _np.array([t for d in docs for t in d.tokens], dtype="<u4")
    trained = _np.array([t for d in docs for t in d.trained], dtype=_np.uint8)
    offsets = _np.cumsum([0] + [len(d.tokens) for d in docs]).astype("<i8")
    tokens.tofile(folder / "tokens.bin")
    trained.tofile(folder / "trained.bin")
    offsets.tofile(folder / "docs.bin")
    if data.packs is not None:
        _np.cumsum([0] + [len(p) for p in data.packs]).astype("<i8").tofile(folder / "packs.bin")
    with open(folder / "rows.jsonl", "w", encoding="utf-8") as f:
        for d in docs:
            f.write(_json.dumps({"id": d.id, "source": "test", "tokens": len(d.tokens), "trained": int(sum(d.trained)), "truncated": False}) + "\n")
    manifest = {
        "format": "kielo-compiled", "version": 1, "kind": data.kind,
        "tokenizer": {"sha256": "test", "vocab_size": 512, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None},
        "template": {"name": "file:test", "sha256": "test"}, "policy": "assistant",
        "max_length": max(len(d.tokens) for d in docs), "truncation": "drop",
        "packing": {"seq_len": max(sum(len(data.docs[i].tokens) for i in p) for p in data.packs), "algorithm": "test"} if data.packs is not None else None,
        "rows_in": len(docs), "rows_out": len(docs), "dropped": {},
        "documents": len(docs), "sequences": data.sequences, "tokens": int(len(tokens)), "trained_tokens": int(trained.sum()), "truncated": 0,
        "source": {"path": "test", "sha256": "test"}, "created_at": "2026-11-22T00:00:00Z", "kielo_version": "0.1.0",
    }
    manifest.update(data.extra_manifest)
    (folder / "manifest.json").write_text(_json.dumps(manifest, indent=2))
    return folder


def write_schedule(path: Path, steps: list[list[list[int]]]) -> Path:
    """docs/formats.md §3; steps with different numbers of micro-batches use the variable layout."""
    variable = len({len(step) for step in steps}) > 1
    flat = [len(steps), 0 if variable else len(steps[0])]
    for step in steps:
        if variable:
            flat.append(len(step))
        for mb in step:
            flat += [len(mb), *mb]
    _np.array(flat, dtype="<i8").tofile(path)
    return path


def shuffled_schedule(sequences: int, steps: int, micro_batches: int, micro_batch_size: int, seed: int) -> list[list[list[int]]]:
    """Epochs of a seeded shuffle, cut into steps × micro-batches (what TypeScript decides)."""
    rng = _random.Random(seed)
    need = steps * micro_batches * micro_batch_size
    order: list[int] = []
    while len(order) < need:
        epoch = list(range(sequences))
        rng.shuffle(epoch)
        order += epoch
    it = iter(order)
    return [[[next(it) for _ in range(micro_batch_size)] for _ in range(micro_batches)] for _ in range(steps)]


def base_job(model_path: str, job_dir: Path, **overrides) -> dict:
    job = {
        "format": "kielo-job", "version": 1, "method": "sft", "seed": 42,
        "model": {"path": model_path, "dtype": "fp32", "trust_remote_code": False, "attn_implementation": "sdpa"},
        "adapter": None, "init_adapter": None,
        "optim": {"lr": 1e-3, "weight_decay": 0.0, "betas": [0.9, 0.999], "eps": 1e-8, "max_grad_norm": 1.0, "schedule": "cosine", "warmup_ratio": 0.1},
        "steps": 4, "micro_batches_per_step": 2, "gradient_checkpointing": False, "neftune_alpha": None,
        "dpo": None, "eval": None, "save_every_steps": 0, "keep_checkpoints": 2,
        "output": {"dir": str(job_dir / "model"), "save": "full"}, "log_every_steps": 1,
    }
    for key, value in overrides.items():
        job[key] = value
    return job


def _place_compiled(target: Path, data: CompiledSet | Path) -> None:
    if isinstance(data, Path):  # a folder written by `kielo data compile`
        import shutil

        shutil.copytree(data, target)
    else:
        write_compiled(target, data)


def write_job(job_dir: Path, job: dict, train: CompiledSet | Path, schedule: list[list[list[int]]], eval_set: CompiledSet | Path | None = None) -> Path:
    job_dir.mkdir(parents=True, exist_ok=True)
    _place_compiled(job_dir / "data" / "train", train)
    if eval_set is not None:
        _place_compiled(job_dir / "data" / "eval", eval_set)
    variable = len({len(step) for step in schedule}) > 1
    job = dict(job, steps=len(schedule), micro_batches_per_step=0 if variable else len(schedule[0]))
    (job_dir / "job.json").write_text(_json.dumps(job, indent=2))
    write_schedule(job_dir / "schedule.bin", schedule)
    return job_dir


def read_events(job_dir: Path) -> list[dict]:
    path = job_dir / "events.jsonl"
    if not path.exists():
        return []
    return [_json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def engine_command(*args: str) -> list[str]:
    return [_sys.executable, "-m", "kielo_engine", *args]


def run_engine(*args: str, timeout: float = 300) -> _subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), OMP_NUM_THREADS="1")
    return _subprocess.run(engine_command(*args), cwd=ENGINE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


def workers_of(parent: int) -> dict[int, int]:
    """rank → pid of the worker processes torchrun started."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f"/proc/{name}/environ", "rb") as f:
                env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        except OSError:
            continue
        if b"RANK" in env:
            found[int(env[b"RANK"])] = int(name)
    return found


def load_records(name: str) -> list[dict]:
    return [_json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def synthetic_sft(n_docs: int, seed: int, min_len: int = 5, max_len: int = 40, vocab: int = 512) -> CompiledSet:
    """Documents of varying length from real-token-id ranges; the first token never trained."""
    rng = _random.Random(seed)
    docs = []
    for i in range(n_docs):
        n = rng.randint(min_len, max_len)
        prompt = rng.randint(1, n - 1)
        tokens = [1] + [rng.randrange(3, vocab) for _ in range(n - 1)]
        docs.append(Doc(tokens, [0] * prompt + [1] * (n - prompt), id=f"syn-{i}"))
    return CompiledSet("sft", docs)


# ---- the real compiler --------------------------------------------------------------------------

NODE = Path(os.environ.get("KIELO_NODE", str(REPO_ROOT / "node_modules" / ".bin" / "node")))


def kielo_compile(records: list[dict], out: Path, *options: str) -> Path:
    """Compiles records with the real `kielo data compile` (TypeScript) and the tiny model's
    tokenizer, with the llama-2 chat template (stories260K has no template of its own)."""
    source = out.parent / (out.name + ".jsonl")
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("".join(_json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    cmd = [str(NODE), str(REPO_ROOT / "bin" / "kielo.js"), "data", "compile", str(source), "--tokenizer", str(TINY_MODEL),
           "--out", str(out), "--template", "llama-2", "--quiet", *options]
    result = _subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"kielo data compile failed: {result.stderr[-2000:]}"
    return out


def compiled_sequences(folder: Path) -> int:
    return int(_json.loads((folder / "manifest.json").read_text())["sequences"])
