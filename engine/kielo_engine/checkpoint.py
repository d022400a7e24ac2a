"""Checkpoints: sharded, written whole or ignored, resumable on another number of processes.

Layout (`JOB/checkpoints/step-000010/`):
  .metadata, __<r>_0.distcp   torch.distributed.checkpoint (DCP): the model (all weights for full
                              fine-tuning, the trainable adapter weights for LoRA) and the AdamW
                              state, keyed by parameter name; each rank writes its own shards, so no
                              rank ever holds the whole state
  trainer.json                {"step", "world_size", "scheduler"}: the step is also the data
                              position (the schedule is fixed and the same for every world size)
  rng-<rank>.pt               python, numpy, torch CPU and CUDA generator states of each rank
  complete                    written last: a folder without it is not a checkpoint
These are internal files for exact resume, not a model export: the model a user gets is the
HF-format folder in `output.dir`, gathered once at the end (export.py).

Loading reshards (DCP plans the reads from the saved metadata): a checkpoint written by 4 ranks
resumes on 2, or on one process without a process group. Every rank reads only its own shards.

A checkpoint is written to `checkpoints/.tmp-step-N` (DCP fsyncs its files; the others are fsynced
too); after every rank is done, rank 0 writes `complete`, renames the folder to `step-N` and fsyncs
the parent. A killed run leaves at worst a `.tmp-*` folder, which the next run removes; resume picks
the highest step with `complete`. All ranks must see the same `checkpoints/` folder (one host, or a
shared filesystem across nodes: docs/multi-node.md).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

_STEP_DIR = re.compile(r"^step-(\d+)$")
COMPLETE = "complete"
TRAINER = "trainer.json"


def step_dir_name(step: int) -> str:
    return f"step-{step:06d}"


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def complete_checkpoints(ckpt_dir: str) -> list[tuple[int, str]]:
    """(step, path) of every complete checkpoint, oldest first."""
    if not os.path.isdir(ckpt_dir):
        return []
    found = []
    for name in os.listdir(ckpt_dir):
        m = _STEP_DIR.match(name)
        path = os.path.join(ckpt_dir, name)
        if m and os.path.isfile(os.path.join(path, COMPLETE)):
            found.append((int(m.group(1)), path))
    return sorted(found)


def latest_checkpoint(ckpt_dir: str) -> tuple[int, str] | None:
    found = complete_checkpoints(ckpt_dir)
    return found[-1] if found else None


def ignored_folders(ckpt_dir: str) -> list[str]:
    """`step-*` folders without `complete`: written by an engine before sharded checkpoints."""
    if not os.path.isdir(ckpt_dir):
        return []
    complete = {path for _, path in complete_checkpoints(ckpt_dir)}
    return sorted(os.path.join(ckpt_dir, n) for n in os.listdir(ckpt_dir) if _STEP_DIR.match(n) and os.path.join(ckpt_dir, n) not in complete)


def remove_partial(ckpt_dir: str) -> None:
    """Removes `.tmp-*` folders left by a run killed while writing a checkpoint."""
    if not os.path.isdir(ckpt_dir):
        return
    for name in os.listdir(ckpt_dir):
        if name.startswith(".tmp-"):
            shutil.rmtree(os.path.join(ckpt_dir, name), ignore_errors=True)


def temp_dir(ckpt_dir: str, step: int) -> str:
    return os.path.join(ckpt_dir, ".tmp-" + step_dir_name(step))


def begin(ckpt_dir: str, step: int) -> str:
    os.makedirs(ckpt_dir, exist_ok=True)
    tmp = temp_dir(ckpt_dir, step)
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    return tmp


def commit(ckpt_dir: str, step: int, keep: int) -> str:
    """Marks the finished temporary folder complete, renames it into place, then prunes all but
    the last `keep`. Called by rank 0 once every rank has written its part."""
    tmp = temp_dir(ckpt_dir, step)
    final = os.path.join(ckpt_dir, step_dir_name(step))
    _write_synced(os.path.join(tmp, COMPLETE), b"")
    _fsync_dir(tmp)
    if os.path.exists(final):  # the same step written again (a resumed run that re-did it)
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(ckpt_dir)
    for _, old in complete_checkpoints(ckpt_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


# ---- the sharded state: model, optimizer, trainer, RNG -------------------------------------------


@contextmanager
def _single_process_quiet() -> Iterator[None]:
    # Without a process group DCP warns that it assumes one process: that is the intent here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.distributed is .*uninitialized.*")
        yield


def _train_state(model: nn.Module, optimizer: torch.optim.Optimizer, trainable_only: bool) -> dict[str, Any]:
    """Model and optimizer state dicts as this rank holds them (DTensor shards under FSDP2, plain
    tensors in one process), keyed by parameter name: what DCP saves and loads into, in place."""
    from .distributed import only_trainable

    options = StateDictOptions(full_state_dict=False, ignore_frozen_params=trainable_only)
    model_state, optim_state = get_state_dict(model, optimizer, options=options)
    return {"model": only_trainable(model, model_state) if trainable_only else model_state, "optim": optim_state}


def save(tmp: str, step: int, world: int, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, rank: int, trainable_only: bool) -> None:
    """Every rank writes its shards and its RNG file into `tmp`; rank 0 also `trainer.json`.
    Collective: every rank calls it (then `commit` on rank 0 after a barrier)."""
    with _single_process_quiet():
        dcp.save(_train_state(model, optimizer, trainable_only), checkpoint_id=tmp)
    with open(os.path.join(tmp, f"rng-{rank}.pt"), "wb") as f:
        torch.save(rng_state(), f)
        f.flush()
        os.fsync(f.fileno())
    if rank == 0:
        trainer = {"step": step, "world_size": world, "scheduler": scheduler.state_dict()}
        _write_synced(os.path.join(tmp, TRAINER), json.dumps(trainer).encode())


def load(path: str, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, rank: int, trainable_only: bool) -> tuple[int, bool]:
    """Loads a checkpoint written by any number of ranks into this rank's shards (collective).
    Returns (step, whether this rank's RNG state was restored: a rank that did not exist when the
    checkpoint was written gets none)."""
    state = _train_state(model, optimizer, trainable_only)
    with _single_process_quiet():
        dcp.load(state, checkpoint_id=path)
    set_state_dict(
        model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"],
        options=StateDictOptions(full_state_dict=False, ignore_frozen_params=trainable_only, strict=not trainable_only),
    )
    with open(os.path.join(path, TRAINER), encoding="utf-8") as f:
        trainer = json.load(f)
    scheduler.load_state_dict(trainer["scheduler"])
    rng_path = os.path.join(path, f"rng-{rank}.pt")
    if os.path.isfile(rng_path):
        # numpy's RNG state holds numpy arrays and a str, which weights_only refuses; the file is
        # this engine's own.
        set_rng_state(torch.load(rng_path, map_location="cpu", weights_only=False))
    return int(trainer["step"]), os.path.isfile(rng_path)


def read_state(path: str) -> dict[str, Any]:
    """The whole checkpoint as plain CPU tensors in this process ({"model": …, "optim": …}), for
    inspection and tests; training never gathers a checkpoint like this."""
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict_from_keys

    with _single_process_quiet():
        return _load_state_dict_from_keys(checkpoint_id=path)


# ---- RNG ----------------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def warn_ignored(ckpt_dir: str) -> None:
    for path in ignored_folders(ckpt_dir):
        print(f"kielo_engine: {path} has no `{COMPLETE}` marker (unfinished, or written before sharded checkpoints): not resumed from", file=sys.stderr)
