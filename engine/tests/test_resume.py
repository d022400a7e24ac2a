"""Exact resume: a run killed with SIGKILL continues from its last complete checkpoint and ends
with the same weights and losses as an uninterrupted run; SIGINT checkpoints and stops (exit 130).

The job uses LoRA dropout and NEFTune so that the RNG state must be restored too."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
import torch
from safetensors.torch import load_file

from conftest import ENGINE_DIR, base_job, engine_command, read_events, synthetic_sft, write_job
from kielo_engine.train import run

STEPS = 9


def make_job(job_dir, model_path):
    lora = {"type": "lora", "r": 4, "alpha": 8, "dropout": 0.2, "target_modules": "all-linear", "quant": None}
    job = base_job(model_path, job_dir, adapter=lora, neftune_alpha=5.0, save_every_steps=2, keep_checkpoints=2,
                   output={"dir": str(job_dir / "model"), "save": "adapter"})
    job["optim"] = dict(job["optim"], lr=2e-2, weight_decay=0.01)
    data = synthetic_sft(16, 21, max_len=30)
    schedule = [[[(4 * s + m * 2) % 16, (4 * s + m * 2 + 1) % 16] for m in range(2)] for s in range(STEPS)]
    return write_job(job_dir, job, data, schedule)


def start(job_dir):
    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(engine_command("run", str(job_dir)), cwd=ENGINE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def wait_for(proc, predicate) -> dict:
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if predicate(event):
            return event
    raise AssertionError("the run ended before the awaited event")


def steps_of(job_dir):
    return {e["step"]: e for e in read_events(job_dir) if e["type"] == "step"}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_model_path):
    job_dir = make_job(tmp_path_factory.mktemp("whole"), tiny_model_path)
    torch.set_num_threads(1)
    assert run(str(job_dir)) == 0
    return job_dir


def test_resume_after_kill_9_ends_like_an_uninterrupted_run(tmp_path, tiny_model_path, uninterrupted):
    job_dir = make_job(tmp_path, tiny_model_path)
    proc = start(job_dir)
    wait_for(proc, lambda e: e["type"] == "checkpoint")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (job_dir / "model").exists()
    killed_at = max(steps_of(job_dir))
    assert killed_at < STEPS

    assert run(str(job_dir)) == 0
    starts = [e for e in read_events(job_dir) if e["type"] == "start"]
    resumed_from = starts[-1]["resumed_from_step"]
    assert len(starts) == 2 and 2 <= resumed_from <= killed_at and resumed_from % 2 == 0

    expected, got = steps_of(uninterrupted), steps_of(job_dir)
    for step in range(resumed_from + 1, STEPS + 1):
        assert got[step]["loss"] == expected[step]["loss"], step
        assert got[step]["grad_norm"] == expected[step]["grad_norm"], step
    a = load_file(str(uninterrupted / "model" / "adapter_model.safetensors"))
    b = load_file(str(job_dir / "model" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # keep_checkpoints = 2: only the last two remain, and no temporary folder is left
    names = sorted(os.listdir(job_dir / "checkpoints"))
    assert names == ["step-000006", "step-000008"]


def test_sigint_finishes_the_step_checkpoints_and_exits_130(tmp_path, tiny_model_path, uninterrupted):
    job_dir = make_job(tmp_path, tiny_model_path)
    proc = start(job_dir)
    first = wait_for(proc, lambda e: e["type"] == "step")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    events = read_events(job_dir)
    error = events[-1]
    assert error["type"] == "error" and error["kind"] == "interrupted"
    stopped_at = max(steps_of(job_dir))
    assert stopped_at >= first["step"] and stopped_at < STEPS
    checkpoints = [e for e in events if e["type"] == "checkpoint"]
    assert checkpoints[-1]["step"] == stopped_at
    assert not (job_dir / "model").exists()
    # and the stopped run resumes to the same result
    assert run(str(job_dir)) == 0
    assert steps_of(job_dir)[STEPS]["loss"] == steps_of(uninterrupted)[STEPS]["loss"]
