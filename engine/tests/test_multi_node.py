"""The multi-node launch line of docs/multi-node.md, as two "nodes" on one host: two torchrun agents
meeting through the c10d rendezvous, one CPU rank each (gloo). And a rank that stops answering
(SIGSTOP: alive, silent — as a rank on a lost host looks from the others) is named by its watcher
once its heartbeat is `KIELO_RANK_SILENCE` seconds old."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import ENGINE_DIR, base_job, read_events, shuffled_schedule, synthetic_sft, workers_of, write_job
from kielo_engine.checkpoint import latest_checkpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nodes(job_dir, port: int, **env_extra: str) -> list[subprocess.Popen]:
    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **env_extra)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
           f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=kielo-test", "--max-restarts=0", "-m", "kielo_engine", "run", str(job_dir)]
    # Events are read from the job folder: rank 0 may be on either "node".
    return [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]


def make_job(job_dir, model_path, steps: int):
    data = synthetic_sft(16, seed=3)
    return write_job(job_dir, base_job(model_path, job_dir, save_every_steps=2), data, shuffled_schedule(data.sequences, steps, 2, 2, seed=5))


def test_two_nodes_through_the_c10d_rendezvous_train_one_job(tmp_path, tiny_model_path):
    job_dir = make_job(tmp_path / "job", tiny_model_path, steps=4)
    nodes = start_nodes(job_dir, free_port())
    try:
        for node in nodes:
            node.wait(timeout=240)
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0]
    events = read_events(job_dir)
    assert events[0]["type"] == "start" and events[0]["world_size"] == 2
    assert events[-1]["type"] == "done" and (job_dir / "model" / "model.safetensors").is_file()
    assert (job_dir / "checkpoints" / "step-000004" / "complete").is_file()


def test_a_rank_that_stops_answering_is_named_once_its_heartbeat_is_stale(tmp_path, tiny_model_path):
    job_dir = make_job(tmp_path / "job", tiny_model_path, steps=40)
    nodes = start_nodes(job_dir, free_port(), KIELO_RANK_SILENCE="3")
    stopped = None
    try:
        # Rank 0 prints the events, on whichever node the rendezvous put it.
        while stopped is None:
            time.sleep(0.2)
            if any(e["type"] == "checkpoint" for e in read_events(job_dir)):
                ranks = {r: pid for node in nodes for r, pid in workers_of(node.pid).items()}
                stopped = ranks[1]
        os.kill(stopped, signal.SIGSTOP)
        frozen_at = time.time()
        error = None
        while error is None and time.time() - frozen_at < 30:
            time.sleep(0.2)
            error = next((e for e in read_events(job_dir) if e["type"] == "error"), None)
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGKILL)  # a stopped process would make torchrun wait 30 s for it
        for node in nodes:
            node.wait(timeout=120)
    assert error is not None, "no error event within 30 s of rank 1 going silent"
    assert error["kind"] == "rank-failed" and error["rank"] == 1, error
    assert error["message"].startswith("rank 1: no heartbeat for "), error
    # Silence counts from the watcher's last sight of a new beat, up to a poll (0.5 s) before the stop.
    assert 2 <= error["time"] - frozen_at < 10, f"named {error['time'] - frozen_at:.1f}s after it went silent"
    assert all(node.returncode != 0 for node in nodes)
    # What a re-run resumes from: the last checkpoint, complete.
    step, path = latest_checkpoint(str(job_dir / "checkpoints"))
    assert step >= 2 and json.loads((Path(path) / "trainer.json").read_text())["step"] == step
