"""`python -m kielo_engine heldout`: the held-out loss of a model, and of a model with a LoRA adapter,
on real Finnish Dolly records compiled by the real `kielo data compile`, against transformers' own
causal-LM loss (labels −100 where a token is not trained) and peft's model for the adapter."""

from __future__ import annotations

import json

import numpy as np
import peft
import pytest
import torch
import transformers

from conftest import kielo_compile, load_records, run_engine
from kielo_engine.data import CompiledData
from kielo_engine.heldout import documents


def reference_loss(model, folder) -> tuple[float, int]:
    """Σ NLL and count over trained tokens, one document at a time, from transformers' loss."""
    total, count = 0.0, 0
    for ids, trained in documents(CompiledData(str(folder))):
        labels = np.where(trained, ids, -100)
        n = int(trained[1:].sum())
        if n == 0:
            continue
        with torch.no_grad():
            out = model(input_ids=torch.from_numpy(ids)[None], labels=torch.from_numpy(labels)[None])
        total += float(out.loss) * n
        count += n
    return total, count


def done_event(result) -> dict:
    assert result.returncode == 0, result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "done", events[-1]
    return events[-1]


@pytest.fixture(scope="module")
def heldout_folder(tmp_path_factory):
    # The assistant policy: only the answers are trained, so prompts do not count.
    return kielo_compile(load_records("dolly-fi-sft.jsonl")[:12], tmp_path_factory.mktemp("heldout") / "data", "--policy", "assistant")


def test_loss_of_a_model_equals_transformers(tiny_model_path, heldout_folder):
    done = done_event(run_engine("heldout", "--model", tiny_model_path, "--data", str(heldout_folder), "--device", "cpu", "--batch-size", "5"))
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32).eval()
    total, count = reference_loss(model, heldout_folder)
    assert done["tokens"] == count > 100
    assert done["requests"] == 12
    assert done["eval_loss"] == pytest.approx(total / count, rel=1e-5)


def test_loss_with_an_adapter_equals_peft(tiny_model_path, heldout_folder, tmp_path):
    base = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    torch.manual_seed(0)
    adapted = peft.get_peft_model(base, config)
    adapted.save_pretrained(tmp_path / "adapter")
    done = done_event(run_engine("heldout", "--model", tiny_model_path, "--adapter", str(tmp_path / "adapter"), "--data", str(heldout_folder), "--device", "cpu"))
    total, count = reference_loss(adapted.eval(), heldout_folder)
    plain = done_event(run_engine("heldout", "--model", tiny_model_path, "--data", str(heldout_folder), "--device", "cpu"))
    assert done["eval_loss"] == pytest.approx(total / count, rel=1e-5)
    assert abs(done["eval_loss"] - plain["eval_loss"]) > 1e-3, "the adapter changes the loss"


def test_packed_or_preference_data_is_refused(tiny_model_path, tmp_path):
    packed = kielo_compile(load_records("dolly-fi-sft.jsonl")[:4], tmp_path / "packed", "--pack", "256")
    result = run_engine("heldout", "--model", tiny_model_path, "--data", str(packed), "--device", "cpu")
    assert result.returncode == 1
    assert "expected unpacked SFT data" in result.stderr
