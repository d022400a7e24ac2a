"""Under torchrun, an exception on one rank, or its death by SIGKILL, ends every rank within seconds,
with that rank's message; the job then resumes from its last complete checkpoint.

Without it, a rank that fails while the others wait in a collective leaves them waiting (NCCL: until
its timeout, half an hour); with gloo on the CPU the others do fail, but with a "connection closed by
peer" reported as a bug in the engine instead of the real cause."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch.distributed as tdist

from conftest import ENGINE_DIR, base_job, read_events, run_engine, shuffled_schedule, synthetic_sft, workers_of, write_job, write_schedule
from kielo_engine.train import run

STUCK = """
import sys, threading, torch
from kielo_engine.distributed import Dist
from kielo_engine.rank_failures import RankFailures
from kielo_engine.events import EventLog
rank = int(sys.argv[1])
RankFailures(Dist(rank=rank, world=2, local_rank=rank, device=torch.device("cpu")), EventLog(None), poll_seconds=0.2)
print("waiting", flush=True)
threading.Event().wait(600)  # as if blocked in a collective, waiting for a rank that died
"""


@pytest.mark.parametrize("stuck_rank", [0, 1])
def test_a_rank_waiting_for_a_failed_rank_ends_within_a_second_with_its_message(stuck_rank):
    store = tdist.TCPStore("127.0.0.1", 0, is_master=True, timeout=datetime.timedelta(seconds=30), wait_for_workers=False)
    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(store.port))
    proc = subprocess.Popen([sys.executable, "-c", STUCK, str(stuck_rank)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "waiting"
        failed = 1 - stuck_rank
        store.set("kielo/first-failure", json.dumps({"rank": failed, "kind": "internal", "message": "ValueError: boom", "hint": None}))
        published = time.monotonic()
        out, err = proc.communicate(timeout=30)
        ended = time.monotonic() - published
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert ended < 5, f"the waiting rank needed {ended:.1f}s to end"
    if stuck_rank == 0:  # rank 0 writes the failing rank's error event
        event = json.loads(out.strip().splitlines()[-1])
        assert event["type"] == "error" and event["rank"] == 1 and event["message"] == "rank 1: ValueError: boom"
    else:
        assert out.strip() == ""


def test_torchrun_two_ranks_gloo_one_rank_fails_every_rank_ends_with_its_message(tmp_path, tiny_model_path):
    # A checkpoint written by one process (step 2 of 2), then resumed on two ranks for 4 steps with
    # rank 1's RNG file damaged: rank 1 fails while loading it, rank 0 goes on into the first
    # collective of step 3 and would wait there for rank 1.
    job_dir = tmp_path / "job"
    data = synthetic_sft(16, seed=1)
    write_job(job_dir, base_job(tiny_model_path, job_dir, save_every_steps=2), data, shuffled_schedule(data.sequences, 2, 2, 2, seed=3))
    assert run_engine("run", str(job_dir)).returncode == 0
    job = json.loads((job_dir / "job.json").read_text())
    job["steps"] = 4
    (job_dir / "job.json").write_text(json.dumps(job))
    write_schedule(job_dir / "schedule.bin", shuffled_schedule(data.sequences, 4, 2, 2, seed=3))
    checkpoint = job_dir / "checkpoints" / "step-000002"
    (checkpoint / "rng-1.pt").write_bytes(b"damaged")

    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "kielo_engine", "run", str(job_dir)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    ended = time.time()
    assert result.returncode != 0
    error = [e for e in read_events(job_dir) if e["type"] == "error"][-1]
    assert error["rank"] == 1, error
    assert error["message"].startswith("rank 1: UnpicklingError"), error
    assert "Connection closed" not in error["message"]
    assert ended - error["time"] < 15, f"{ended - error['time']:.1f}s from rank 1's failure to the end of every rank"


@pytest.mark.parametrize("killed", [1, 0])
def test_torchrun_a_rank_killed_with_sigkill_ends_the_job_naming_it_and_the_job_resumes(tmp_path, tiny_model_path, killed):
    job_dir = tmp_path / "job"
    data = synthetic_sft(16, seed=2)
    write_job(job_dir, base_job(tiny_model_path, job_dir, save_every_steps=2, keep_checkpoints=1), data, shuffled_schedule(data.sequences, 24, 2, 2, seed=4))
    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "kielo_engine", "run", str(job_dir)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{") and json.loads(line)["type"] == "checkpoint":
                break
        os.kill(workers_of(proc.pid)[killed], signal.SIGKILL)
        killed_at = time.monotonic()
        proc.communicate(timeout=120)
        ended = time.monotonic() - killed_at
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert ended < 10, f"{ended:.1f}s from the SIGKILL of rank {killed} to the end of the job"
    events = read_events(job_dir)
    error = [e for e in events if e["type"] == "error"][-1]
    assert error["kind"] == "rank-failed" and error["rank"] == killed, error
    assert error["message"].startswith(f"rank {killed}: the process ended without reporting an error"), error
    logged = {e["step"]: e for e in events if e["type"] == "step"}
    saved = max(e["step"] for e in events if e["type"] == "checkpoint")
    assert max(logged) < 24

    # The same job again (here on one process) resumes from the last complete checkpoint.
    assert run(str(job_dir)) == 0
    resumed = read_events(job_dir)[len(events):]
    assert resumed[0]["type"] == "start" and resumed[0]["resumed_from_step"] == saved
    redone = {e["step"]: e for e in resumed if e["type"] == "step"}
    assert min(redone) == saved + 1 and max(redone) == 24
    for step in range(saved + 1, max(logged) + 1):
        assert redone[step]["loss"] == pytest.approx(logged[step]["loss"], rel=2e-5), step
