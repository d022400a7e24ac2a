"""Sharded checkpoints (DCP): written by 4 ranks (torchrun, gloo, FSDP2), resumed on 2 ranks (full
fine-tuning) or on one process (LoRA), the run ends like an uninterrupted one; a folder without its
`complete` marker is ignored.

fp32 on the CPU: a resumed run differs from the uninterrupted one only by the order of the sums
(FSDP's reduce-scatter over 4 or 2 ranks against one process), so the tolerance is tight."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import ENGINE_DIR, base_job, read_events, synthetic_sft, write_job
from kielo_engine.checkpoint import read_state
from kielo_engine.train import run

STEPS = 4
# 4 micro-batches per step: a multiple of 4, 2 and 1 processes, so one schedule serves every world.
SCHEDULE = [[[(8 * s + 2 * m) % 24, (8 * s + 2 * m + 1) % 24] for m in range(4)] for s in range(STEPS)]
LORA = {"type": "lora", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", "quant": None}
RTOL = 2e-5
# Weights after a few AdamW steps: AdamW gives a near-zero gradient a full-size step, so a rounding
# difference in it shows at the size of the update (lr 1e-3): measured 1.7e-5.
WEIGHTS = {"rtol": 1e-3, "atol": 5e-5}


def make_job(job_dir, model_path, adapter: bool):
    extra = {"adapter": LORA, "output": {"dir": str(job_dir / "model"), "save": "adapter"}} if adapter else {}
    job = base_job(model_path, job_dir, save_every_steps=2, keep_checkpoints=2, **extra)
    job["optim"] = dict(job["optim"], lr=1e-2 if adapter else 1e-3, weight_decay=0.01)
    return write_job(job_dir, job, synthetic_sft(24, 5, max_len=32), SCHEDULE)


def torchrun(job_dir, ranks: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}", "-m", "kielo_engine", "run", str(job_dir)]
    result = subprocess.run(cmd, cwd=ENGINE_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def steps_of(job_dir) -> dict[int, dict]:
    return {e["step"]: e for e in read_events(job_dir) if e["type"] == "step"}


def assert_same_losses(got: dict[int, dict], expected: dict[int, dict], steps) -> None:
    for step in steps:
        assert got[step]["loss"] == pytest.approx(expected[step]["loss"], rel=RTOL), step
        assert got[step]["grad_norm"] == pytest.approx(expected[step]["grad_norm"], rel=1e-4), step


def keep_only_step_2(job_dir) -> None:
    """As if the 4-rank run had been killed after its step-2 checkpoint."""
    shutil.rmtree(job_dir / "checkpoints" / "step-000004")
    shutil.rmtree(job_dir / "model")


def uninterrupted(job_dir, model_path, adapter: bool):
    make_job(job_dir, model_path, adapter)
    torch.set_num_threads(1)
    assert run(str(job_dir)) == 0
    return job_dir


def test_full_fine_tuning_saved_on_4_ranks_resumes_on_2(tmp_path, tiny_model_path):
    whole = uninterrupted(tmp_path / "whole", tiny_model_path, adapter=False)
    job_dir = make_job(tmp_path / "sharded", tiny_model_path, adapter=False)
    torchrun(job_dir, 4)
    saved = job_dir / "checkpoints" / "step-000002"
    shards = sorted(p for p in os.listdir(saved) if p.endswith(".distcp"))
    assert shards == [f"__{r}_0.distcp" for r in range(4)]
    # Each rank wrote a quarter of the weights and AdamW moments: no rank held the whole state.
    sizes = [os.path.getsize(saved / s) for s in shards]
    assert max(sizes) < 0.4 * sum(sizes), sizes
    assert json.loads((saved / "trainer.json").read_text())["world_size"] == 4
    assert_same_losses(steps_of(job_dir), steps_of(whole), range(1, STEPS + 1))

    keep_only_step_2(job_dir)
    torchrun(job_dir, 2)
    start = [e for e in read_events(job_dir) if e["type"] == "start"][-1]
    assert start["world_size"] == 2 and start["resumed_from_step"] == 2
    assert_same_losses(steps_of(job_dir), steps_of(whole), (3, 4))
    # The final model is still one Hugging Face folder, gathered once at the end.
    a, b = load_file(str(whole / "model" / "model.safetensors")), load_file(str(job_dir / "model" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], **WEIGHTS)
    # The checkpoint of step 4 written by 2 ranks holds the same state as the one-process run's.
    x, y = read_state(str(whole / "checkpoints" / "step-000004")), read_state(str(job_dir / "checkpoints" / "step-000004"))
    for key in x["model"]:
        torch.testing.assert_close(y["model"][key], x["model"][key], **WEIGHTS)
    for name, moments in x["optim"]["state"].items():
        torch.testing.assert_close(y["optim"]["state"][name]["exp_avg"], moments["exp_avg"], rtol=1e-3, atol=1e-7)


def test_lora_saved_on_4_ranks_resumes_on_one_process_past_an_incomplete_checkpoint(tmp_path, tiny_model_path):
    whole = uninterrupted(tmp_path / "whole", tiny_model_path, adapter=True)
    job_dir = make_job(tmp_path / "sharded", tiny_model_path, adapter=True)
    torchrun(job_dir, 4)
    assert_same_losses(steps_of(job_dir), steps_of(whole), range(1, STEPS + 1))
    state = read_state(str(job_dir / "checkpoints" / "step-000002"))
    assert state["model"] and all("lora_" in k for k in state["model"])  # the adapter only

    # Killed while writing step 4: no `complete` marker, and a temporary folder left over.
    shutil.rmtree(job_dir / "model")
    os.remove(job_dir / "checkpoints" / "step-000004" / "complete")
    (job_dir / "checkpoints" / ".tmp-step-000006").mkdir()
    assert run(str(job_dir)) == 0
    start = [e for e in read_events(job_dir) if e["type"] == "start"][-1]
    assert start["world_size"] == 1 and start["resumed_from_step"] == 2
    assert_same_losses(steps_of(job_dir), steps_of(whole), (3, 4))
    assert not (job_dir / "checkpoints" / ".tmp-step-000006").exists()
    a = load_file(str(whole / "model" / "adapter_model.safetensors"))
    b = load_file(str(job_dir / "model" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], **WEIGHTS)
