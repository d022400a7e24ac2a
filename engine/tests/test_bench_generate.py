"""engine/gpu_checks/bench_generate.py rehearsed on the CPU: the same phases the GPU run has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "gpu_checks" / "bench_generate.py"


def bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict, str]:
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--out", str(out), *args],
                            capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads((out / "bench_generate.json").read_text()), (out / "bench_generate.txt").read_text()


def test_tiny_rehearsal_runs_every_phase_and_prints_the_table_last(tmp_path):
    result, numbers, table = bench(tmp_path, "--tiny", "--prompts", "12", "--max-new-tokens", "20", "--check-tokens", "8")
    phases = numbers["phases"]
    for name in ("fast-cold", "fast-warm", "fast-fp32", "hf-fp32", "hf-bf16", "fp32-identity"):
        assert phases[name]["status"] == "ok", (name, phases[name])
    assert phases["fp32-identity"]["identical"] == 12 and phases["fp32-identity"]["of"] == 12
    warm = phases["fast-warm"]
    assert warm["attention"] == "torch" and warm["graphs"] is False and warm["slots"] == 12
    assert 0 < warm["generated_tokens"] <= 12 * 20 and warm["hit_max_new_tokens"] >= 1
    assert warm["generated_tokens"] == phases["fast-cold"]["generated_tokens"]
    assert phases["hf-bf16"]["prompts_done"] == 12 and phases["hf-bf16"]["extrapolated"] is False
    assert numbers["agreement"]["fast_bf16_vs_hf_bf16_whole"] == {"equal": 12, "of": 12, "rate": 1.0}
    assert result.stdout.endswith(table), "the table is printed last"
    assert any(line.startswith("fp32 first 8 tokens identical") and line.split()[-2:] == ["12/12", "PASS"]
               for line in table.splitlines())
    assert (tmp_path / "out" / "bench_generate-mismatches.jsonl").read_text() == ""
    assert len(list((tmp_path / "out").iterdir())) <= 8


def test_random_init_uses_the_committed_smollm2_prompt_ids_and_says_random_init(tmp_path):
    _, numbers, table = bench(tmp_path, "--random-init", "--prompts", "2", "--max-new-tokens", "3",
                                   "--check-tokens", "3", "--hf-batch", "2")
    assert "RANDOM INIT" in table.splitlines()[0] and "SmolLM2-135M shapes" in numbers["model"]
    assert "fixtures/ifeval-smollm2-prompt-ids.json.gz" in table
    assert numbers["phases"]["fp32-identity"]["of"] == 2
    assert numbers["phases"]["fast-warm"]["generated_tokens"] <= 2 * 3
