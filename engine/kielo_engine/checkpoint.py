"""Checkpoints: write whole or not at all, find the last complete one, keep the last N.

Layout (`JOB/checkpoints/step-000010/`):
  model.pt       model state: all weights (full fine-tuning) or the trainable adapter weights
  optimizer.pt   AdamW state (keyed by parameter name)
  trainer.pt     {"step", "scheduler"} — the step is also the data position: the schedule is fixed
  rng-<rank>.pt  python, numpy, torch CPU and CUDA generator states of each rank
These are torch.save files (loaded with weights_only=True): an internal format for exact resume,
not a model export. The model a user gets is the HF-format folder in `output.dir`.

A checkpoint is written to `checkpoints/.tmp-step-N`, every file fsynced, then renamed to
`checkpoints/step-N` and the folder fsynced: a `step-*` folder is complete by construction, and a
killed run leaves at worst a `.tmp-*` folder, which the next run removes.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from typing import Any

import numpy as np
import torch

_STEP_DIR = re.compile(r"^step-(\d+)$")


def step_dir_name(step: int) -> str:
    return f"step-{step:06d}"


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_file(obj: Any, path: str) -> None:
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def load_file(path: str) -> Any:
    # numpy RNG state holds numpy arrays and a str; weights_only needs them allow-listed.
    return torch.load(path, map_location="cpu", weights_only=False) if os.path.basename(path).startswith("rng-") else torch.load(path, map_location="cpu", weights_only=True)


def complete_checkpoints(ckpt_dir: str) -> list[tuple[int, str]]:
    """(step, path) of every complete checkpoint, oldest first."""
    if not os.path.isdir(ckpt_dir):
        return []
    found = []
    for name in os.listdir(ckpt_dir):
        m = _STEP_DIR.match(name)
        path = os.path.join(ckpt_dir, name)
        if m and os.path.isfile(os.path.join(path, "trainer.pt")):
            found.append((int(m.group(1)), path))
    return sorted(found)


def latest_checkpoint(ckpt_dir: str) -> tuple[int, str] | None:
    found = complete_checkpoints(ckpt_dir)
    return found[-1] if found else None


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
    """Renames the finished temporary folder into place, then prunes all but the last `keep`."""
    tmp = temp_dir(ckpt_dir, step)
    final = os.path.join(ckpt_dir, step_dir_name(step))
    _fsync_dir(tmp)
    if os.path.exists(final):  # the same step written again (a resumed run that re-did it)
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(ckpt_dir)
    for _, old in complete_checkpoints(ckpt_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


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
