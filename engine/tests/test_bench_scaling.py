"""engine/gpu_checks/bench_scaling.py rehearsed on the CPU: full fine-tuning of the tiny Llama shapes
on one process and on 2 gloo ranks (torchrun + FSDP2), the numbers from the engine's own events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "gpu_checks" / "bench_scaling.py"


def test_tiny_rehearsal_measures_each_world_size_and_prints_the_table_last(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, str(SCRIPT), "--cpu", "--tiny", "--only", "full", "--worlds-full", "1,2", "--steps", "2", "--seq-len", "64",
           "--layers", "1", "--work", str(tmp_path / "work"), "--out", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    numbers = json.loads((out / "bench_scaling.json").read_text())
    table = (out / "bench_scaling.txt").read_text()
    assert result.stdout.endswith(table), "the table is printed last"
    assert table.startswith("bench_scaling: random init, real shapes (tiny Llama")
    runs = {(r["config"], r["world"]): r for r in numbers["results"]}
    assert sorted(runs) == [("full", 1), ("full", 2)]
    one, two = runs[("full", 1)], runs[("full", 2)]
    for r in (one, two):
        assert r["status"] == "ok" and r["steps_timed"] == 1 and r["peak_memory_gib"] > 0, r
        # per GPU per step: 2 micro-batches × 2 packed sequences of at most 64 tokens
        assert 0 < r["step_tokens"][-1] <= r["world"] * 4 * 64
        assert r["tokens_per_s_per_gpu"] == pytest.approx(r["tokens_per_s"] / r["world"])
    assert one["efficiency"] == 1.0
    assert two["efficiency"] == pytest.approx(two["tokens_per_s_per_gpu"] / one["tokens_per_s_per_gpu"])
    assert one["params"] == two["params"] == one["trainable_params"]
    rows = [line.split() for line in table.splitlines() if line.startswith("full ")]
    assert [row[1] for row in rows] == ["1", "2"] and rows[0][4] == "100%"
