"""engine/gpu_checks/bench_generate.py rehearsed on the CPU: the same phases the GPU run has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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
    summary = numbers["summary"]  # what bench_speed.py shows in its generate row
    assert summary["tokens_per_s"] == warm["tokens_per_s"] and summary["fp32_identical"] == "12/12"
    assert summary["peak_memory_gib"] is None and summary["low_precision_agreement"] == 1.0
    assert len(list((tmp_path / "out").iterdir())) <= 8


def test_random_init_uses_the_committed_smollm2_prompt_ids_and_says_random_init(tmp_path):
    _, numbers, table = bench(tmp_path, "--random-init", "--prompts", "2", "--max-new-tokens", "3",
                                   "--check-tokens", "3", "--hf-batch", "2")
    assert "RANDOM INIT" in table.splitlines()[0] and "SmolLM2-135M shapes" in numbers["model"]
    assert "fixtures/ifeval-smollm2-prompt-ids.json.gz" in table
    assert numbers["phases"]["fp32-identity"]["of"] == 2
    assert numbers["phases"]["fast-warm"]["generated_tokens"] <= 2 * 3


def test_a_difference_is_diagnosed_as_a_near_tie_or_not(tiny_model_path):
    """The GPU run explains fp32 differences: the top-2 logit gap where the outputs part, and which
    side transformers takes when it runs the prompt alone. Here the 'fast' side is altered by hand."""
    sys.path.insert(0, str(SCRIPT.parent))
    import bench_generate

    from kielo_engine.hf_generate import transformers_generate
    from kielo_engine.modeling import load_model

    model = load_model(tiny_model_path, "fp32")
    prompt = [1, 415, 293, 264, 1237 % 512, 99]
    reference = transformers_generate(model, [prompt], max_new_tokens=8, temperature=0.0, top_p=1.0, seed=0,
                                      batch_size=1, stop_token_ids=[])[0]
    altered = reference[:3] + [(reference[3] + 1) % 512] + reference[4:]
    found = bench_generate.diagnose(model, prompt, altered, reference, 3, [], 8)
    assert found["transformers_alone"] == "batched transformers"
    with torch.no_grad():
        top2 = model(torch.tensor([prompt + reference[:3]])).logits[0, -1].topk(2).values
    assert found["top2_gap"] == pytest.approx(float(top2[0] - top2[1])) and found["top2_gap"] > 0
