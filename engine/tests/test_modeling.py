"""load_model: local safetensors folders only, readable errors, dtypes, NF4 quantisation."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from kielo_engine.errors import EngineError
from kielo_engine.modeling import load_model
from kielo_engine.nf4 import NF4Linear


def copy_config(tiny_model_path, folder):
    folder.mkdir()
    shutil.copyfile(f"{tiny_model_path}/config.json", folder / "config.json")
    return folder


def test_loads_the_tiny_model_in_each_dtype(tiny_model_path):
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
        model = load_model(tiny_model_path, name)
        assert model.dtype == dtype
        assert model.config.hidden_size == 64
        # embeddings 512·64 (tied with the head) + 5 layers · 45,440 + final norm 64
        assert sum(p.numel() for p in model.parameters()) == 32_768 + 5 * 45_440 + 64


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(EngineError) as caught:
        load_model(str(tmp_path / "nowhere"))
    assert caught.value.kind == "model-not-found" and str(tmp_path / "nowhere") in caught.value.message


def test_missing_config_and_missing_weights_are_named(tiny_model_path, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EngineError, match="no config.json"):
        load_model(str(tmp_path / "empty"))
    folder = copy_config(tiny_model_path, tmp_path / "config-only")
    with pytest.raises(EngineError, match="no model weights") as caught:
        load_model(str(folder))
    assert caught.value.kind == "model-not-found"


def test_pickle_only_checkpoints_are_refused_before_anything_is_unpickled(tiny_model_path, tmp_path):
    folder = copy_config(tiny_model_path, tmp_path / "pickle")
    # Not even a valid pickle: proves the file is never opened.
    (folder / "pytorch_model.bin").write_bytes(b"not a pickle")
    with pytest.raises(EngineError, match="safetensors only") as caught:
        load_model(str(folder))
    assert caught.value.hint and "save_pretrained" in caught.value.hint


def test_remote_code_is_refused_unless_allowed(tiny_model_path, tmp_path):
    folder = tmp_path / "remote"
    folder.mkdir()
    config = json.loads(open(f"{tiny_model_path}/config.json").read())
    config.update({"model_type": "kielo-test-custom", "auto_map": {"AutoModelForCausalLM": "modeling_custom.CustomLM"}})
    (folder / "config.json").write_text(json.dumps(config))
    shutil.copyfile(f"{tiny_model_path}/model.safetensors", folder / "model.safetensors")
    (folder / "modeling_custom.py").write_text("raise SystemExit('custom code must not run')\n")
    with pytest.raises(EngineError) as caught:
        load_model(str(folder))
    assert caught.value.kind == "bad-job" and "trust_remote_code" in (caught.value.hint or "")
    config.pop("auto_map")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(EngineError, match="not known to transformers"):
        load_model(str(folder))


def test_unknown_dtype_is_a_bad_job(tiny_model_path):
    with pytest.raises(EngineError, match="unknown dtype") as caught:
        load_model(tiny_model_path, "int3")
    assert caught.value.kind == "bad-job"


def test_nf4_quantisation_replaces_every_linear_but_the_head_and_freezes_the_base(tiny_model_path):
    model = load_model(tiny_model_path, "fp32", quant={"type": "nf4", "double_quant": False, "compute_dtype": "bf16"})
    layers = [m for m in model.modules() if isinstance(m, NF4Linear)]
    assert len(layers) == 35
    assert all(layer.compute_dtype == torch.bfloat16 and layer.weight.dtype == torch.uint8 for layer in layers)
    assert isinstance(model.get_output_embeddings(), torch.nn.Linear)
    assert not any(p.requires_grad for p in model.parameters())
    packed = sum(layer.weight.numel() for layer in layers)
    assert packed == sum(layer.in_features * layer.out_features for layer in layers) // 2
    with pytest.raises(EngineError, match="unknown quantisation"):
        load_model(tiny_model_path, "fp32", quant={"type": "int8"})
