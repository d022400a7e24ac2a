"""Merge: LoRA/QLoRA adapter → a full Hugging Face model whose logits equal the adapter model's."""

from __future__ import annotations

import json
import os

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from kielo_engine import merge
from kielo_engine.errors import EngineError
from kielo_engine.lora import apply_lora, load_adapter
from kielo_engine.modeling import load_model

IDS = torch.tensor([[1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298], [1, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292]])


def randomise_lora(model, seed: int) -> None:
    """LoRA starts with B = 0 (a no-op); give it weights as if it had been trained."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)


def logits(model, ids=IDS):
    model.eval()
    with torch.no_grad():
        return model(ids).logits


@pytest.fixture(scope="module")
def lora_adapter(tiny_model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapter")
    model = apply_lora(load_model(tiny_model_path, "fp32"), r=4, alpha=8, dropout=0.05, target_modules="all-linear")
    randomise_lora(model, seed=1)
    model.save_pretrained(folder)
    return str(folder), logits(model)


def test_all_linear_targets_every_projection_but_not_the_head(tiny_model_path):
    model = apply_lora(load_model(tiny_model_path, "fp32"), r=2, alpha=4, dropout=0.0, target_modules="all-linear")
    targets = set(model.peft_config["default"].target_modules)
    assert targets == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert len(trainable) == 2 * 7 * 5 and all("lora_" in n for n in trainable)
    config = model.peft_config["default"]
    assert (config.r, config.lora_alpha, config.lora_dropout) == (2, 4, 0.0)


def test_merged_model_logits_equal_the_adapter_model_logits(tiny_model_path, lora_adapter, tmp_path):
    adapter_dir, adapter_logits = lora_adapter
    out = tmp_path / "merged"
    merge.merge_adapter(tiny_model_path, adapter_dir, str(out), dtype="fp32")
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "tokenizer.model"} <= set(
        os.listdir(out)
    )
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".merged.tmp-")]
    merged = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    torch.testing.assert_close(logits(merged), adapter_logits, rtol=1e-5, atol=2e-5)
    base_logits = logits(load_model(tiny_model_path, "fp32"))
    assert (adapter_logits - base_logits).abs().max().item() > 1e-2  # the adapter really changes the model
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer("Once upon a time").input_ids[:3] == [1, 403, 407]


def test_a_merged_model_loads_back_through_load_adapter_as_well(tiny_model_path, lora_adapter):
    adapter_dir, adapter_logits = lora_adapter
    reloaded = load_adapter(load_model(tiny_model_path, "fp32"), adapter_dir, trainable=False)
    torch.testing.assert_close(logits(reloaded), adapter_logits, rtol=0, atol=0)
    assert not any(p.requires_grad for p in reloaded.parameters())
    trainable = load_adapter(load_model(tiny_model_path, "fp32"), adapter_dir, trainable=True)
    assert any(p.requires_grad for p in trainable.parameters())


def test_qlora_adapter_merges_into_the_full_precision_base(tiny_model_path, tmp_path):
    quant = {"type": "nf4", "block_size": 64, "double_quant": True, "compute_dtype": "fp32"}
    qlora = apply_lora(load_model(tiny_model_path, "fp32", quant=quant), r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    randomise_lora(qlora, seed=2)
    adapter_dir = tmp_path / "qlora-adapter"
    qlora.save_pretrained(adapter_dir)
    saved = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert saved["r"] == 4
    assert {t.rsplit(".", 1)[-1] for t in saved["target_modules"]} == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
    }

    # The saved adapter loads back onto an NF4 base and reproduces the QLoRA model exactly.
    reloaded = load_adapter(load_model(tiny_model_path, "fp32", quant=quant), str(adapter_dir), trainable=False)
    qlora_logits = logits(qlora)
    torch.testing.assert_close(logits(reloaded), qlora_logits, rtol=0, atol=0)

    out = tmp_path / "merged"
    merge.merge_adapter(tiny_model_path, str(adapter_dir), str(out), dtype="fp32")
    merged_logits = logits(AutoModelForCausalLM.from_pretrained(out, local_files_only=True))
    on_full_base = load_adapter(load_model(tiny_model_path, "fp32"), str(adapter_dir), trainable=False)
    torch.testing.assert_close(merged_logits, logits(on_full_base), rtol=1e-5, atol=2e-5)
    relative = ((merged_logits - qlora_logits).norm() / qlora_logits.norm()).item()
    print(f"merged QLoRA vs QLoRA-on-NF4 logits relative error: {relative:.4f}")
    assert 0 < relative < 0.2  # only the NF4 rounding of the base separates them


def test_merge_refuses_a_non_empty_output_and_a_missing_adapter(tiny_model_path, lora_adapter, tmp_path):
    adapter_dir, _ = lora_adapter
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("user data")
    with pytest.raises(EngineError, match="already exists"):
        merge.merge_adapter(tiny_model_path, adapter_dir, str(occupied), dtype="fp32")
    assert (occupied / "keep.txt").read_text() == "user data"
    with pytest.raises(EngineError) as caught:
        merge.merge_adapter(tiny_model_path, str(tmp_path / "nope"), str(tmp_path / "out"), dtype="fp32")
    assert caught.value.kind == "model-not-found" and "adapter_config.json" in caught.value.message
    assert not (tmp_path / "out").exists()


def test_merge_command_line(tiny_model_path, lora_adapter, tmp_path, capsys):
    adapter_dir, adapter_logits = lora_adapter
    out = tmp_path / "cli-merged"
    code = merge.main(["--base", tiny_model_path, "--adapter", adapter_dir, "--out", str(out), "--dtype", "bf16"])
    assert code == 0
    event = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert event["type"] == "done" and event["output"] == str(out)
    merged = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    assert merged.dtype == torch.bfloat16
    relative = ((logits(merged).float() - adapter_logits).norm() / adapter_logits.norm()).item()
    assert relative < 0.02  # bf16 rounding of the merged weights
    assert merge.main(["--base", tiny_model_path, "--adapter", adapter_dir, "--out", str(out)]) == 1
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert error["type"] == "error" and error["kind"] == "bad-job"


def test_tokenizer_files_and_named_chat_templates_are_copied(tmp_path):
    from kielo_engine.outputs import copy_tokenizer_files

    source = tmp_path / "src"
    (source / "additional_chat_templates").mkdir(parents=True)
    (source / "tokenizer.json").write_text("{}")
    (source / "chat_template.jinja").write_text("{{ messages }}")
    (source / "additional_chat_templates" / "tool_use.jinja").write_text("{{ tools }}")
    (source / "model.safetensors").write_text("not a tokenizer file")
    out = tmp_path / "out"
    out.mkdir()
    copied = copy_tokenizer_files(str(source), str(out))
    assert sorted(copied) == ["additional_chat_templates", "chat_template.jinja", "tokenizer.json"]
    assert (out / "additional_chat_templates" / "tool_use.jinja").read_text() == "{{ tools }}"
    assert not (out / "model.safetensors").exists()
