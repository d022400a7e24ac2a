"""`import-gguf` on the real SmolLM2-135M-Instruct GGUF (Q4_1, token embedding Q8_0).

`npm run setup` downloads the GGUF and imports it (bf16) with this module into
fixtures/models/smollm2-135m-instruct; these tests check that folder against the GGUF itself, read
with the `gguf` package's own reader and dequantiser (not transformers' loader, which made the
folder): every tensor equal to bf16(dequantised GGUF tensor), the special tokens those of the GGUF
header, no quantization config. They fail, not skip, when setup has not installed the model.
One test runs `kielo model import --dtype fp32` itself (about 25 s on 2 cores): every tensor equal
to the dequantised GGUF tensor in fp32, bit for bit, and the config saying float32.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import NODE, REPO_ROOT
from kielo_engine.errors import EngineError
from kielo_engine.events import check_event
from kielo_engine.gguf_import import import_gguf

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "models")
with open(os.path.join(MODELS, "SHA256SUMS"), encoding="utf-8") as _handle:
    SHA256, GGUF_NAME = _handle.read().split()
GGUF = os.path.abspath(os.path.join(MODELS, GGUF_NAME))
IMPORTED = os.path.abspath(os.path.join(MODELS, "smollm2-135m-instruct"))

# llama.cpp tensor names → transformers' LlamaForCausalLM names.
NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
}
LAYER_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}


@pytest.fixture(scope="module")
def imported() -> str:
    for name in ("config.json", "model.safetensors", "kielo-import.json"):
        assert os.path.isfile(os.path.join(IMPORTED, name)), f"{IMPORTED}/{name} missing: run `npm run setup`"
    assert os.path.isfile(GGUF), f"{GGUF} missing: run `npm run setup`"
    return IMPORTED


def read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def hf_name(gguf_name: str) -> str:
    if gguf_name in NAMES:
        return NAMES[gguf_name]
    match = re.fullmatch(r"blk\.(\d+)\.(\w+)\.weight", gguf_name)
    assert match, gguf_name
    return f"model.layers.{match[1]}.{LAYER_NAMES[match[2]]}.weight"


def unpermute(weight: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's reordering of q/k rows for its RoPE layout: convert_hf_to_gguf's `permute` is
    reshape(heads, 2, d/2, …).swapaxes(1, 2), so its inverse is reshape(heads, d/2, 2, …).swapaxes(1, 2)."""
    rows = weight.shape[0]
    return weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def assert_weights_are_the_gguf_tensors(folder: str, dtype: torch.dtype) -> None:
    """Every tensor of folder's model.safetensors equals dtype(dequantised GGUF tensor) exactly."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    config = read_json(os.path.join(folder, "config.json"))
    stored = load_file(os.path.join(folder, "model.safetensors"))
    reader = GGUFReader(GGUF)
    seen = set()
    for tensor in reader.tensors:
        name = hf_name(tensor.name)
        values = dequantize(tensor.data, tensor.tensor_type)
        if ".q_proj." in name:
            values = unpermute(values, config["num_attention_heads"])
        elif ".k_proj." in name:
            values = unpermute(values, config["num_key_value_heads"])
        expected = torch.from_numpy(np.array(values, dtype=np.float32)).to(dtype)
        assert stored[name].dtype == dtype, name
        assert torch.equal(stored[name], expected), f"{name} differs from {tensor.name} ({tensor.tensor_type.name})"
        seen.add(name)
    # Tied embeddings: no separate output head in the GGUF, none written.
    assert seen == set(stored), set(stored) ^ seen
    assert len(seen) == 272


def test_every_weight_is_the_dequantised_gguf_tensor_in_bf16(imported):
    assert_weights_are_the_gguf_tensors(imported, torch.bfloat16)


def test_kielo_model_import_dtype_fp32_keeps_the_dequantised_gguf_tensors_exactly(imported, tmp_path):
    out = tmp_path / "smollm2-fp32"
    cmd = [str(NODE), str(REPO_ROOT / "bin" / "kielo.js"), "model", "import", GGUF, "--out", str(out), "--dtype", "fp32"]
    result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"kielo model import --dtype fp32 failed: {result.stderr[-2000:]}"
    assert "fp32" in result.stdout, result.stdout
    assert_weights_are_the_gguf_tensors(str(out), torch.float32)
    config = read_json(str(out / "config.json"))
    assert config["dtype"] == "float32" and config.get("torch_dtype", "float32") == "float32", config
    assert "quantization_config" not in config
    assert read_json(str(out / "kielo-import.json"))["dtype"] == "fp32"


def test_config_and_special_tokens_are_the_gguf_headers(imported):
    from transformers import AutoTokenizer, GenerationConfig

    config = read_json(os.path.join(imported, "config.json"))
    assert "quantization_config" not in config
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == ("llama", 30, 576, 49152)
    assert (config["bos_token_id"], config["eos_token_id"], config["pad_token_id"]) == (1, 2, 2)
    assert config["tie_word_embeddings"] is True
    assert GenerationConfig.from_pretrained(imported).eos_token_id == 2
    tokenizer = AutoTokenizer.from_pretrained(imported)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token) == ("<|im_start|>", "<|im_end|>", "<|im_end|>", "<|endoftext|>")
    assert tokenizer.model_max_length == 8192
    # transformers 5 keeps the chat template in its own file, and reads it back from there.
    assert os.path.isfile(os.path.join(imported, "chat_template.jinja"))
    assert "chat_template" not in read_json(os.path.join(imported, "tokenizer_config.json"))
    assert tokenizer.chat_template.startswith("{% for message in messages %}")
    text = "Hyvää päivää! Mitä kuuluu? 😀"
    assert tokenizer.decode(tokenizer(text).input_ids) == text, "no BOS added, and decoding round-trips"
    record = read_json(os.path.join(imported, "kielo-import.json"))
    assert (record["sha256"], record["bytes"], record["architecture"], record["dtype"]) == (SHA256, 98_362_432, "llama", "bf16")
    # What the header said, as the import read it with the gguf package's reader.
    assert record["special_tokens"] == {
        "bos_token": {"id": 1, "token": "<|im_start|>"},
        "eos_token": {"id": 2, "token": "<|im_end|>"},
        "unk_token": {"id": 0, "token": "<|endoftext|>"},
        "pad_token": {"id": 2, "token": "<|im_end|>"},
    }
    assert record["gguf_add_bos_token"] is False and record["chat_template"] is True
    # The import's `done` event carries this record: it must fit the events contract.
    check_event({"type": "done", "time": 1.0, "output": imported, **record})


def write_gguf(path: str, architecture: str) -> None:
    """A small, valid GGUF file written by the `gguf` package itself."""
    from gguf import GGUFWriter

    writer = GGUFWriter(path, architecture)
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_an_architecture_transformers_cannot_load_is_a_clear_error(tmp_path):
    path = str(tmp_path / "rwkv.gguf")
    write_gguf(path, "rwkv6")
    out = tmp_path / "out"
    with pytest.raises(EngineError) as caught:
        import_gguf(path, str(out))
    message = caught.value.message
    assert path in message and "'rwkv6'" in message and "transformers" in message, message
    assert caught.value.hint
    assert not out.exists()
    assert os.listdir(tmp_path) == ["rwkv.gguf"], "no temporary folder left behind"


def test_not_a_gguf_file_and_an_existing_folder_are_refused_before_any_work(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"this is not a gguf file at all")
    with pytest.raises(EngineError, match=re.escape(str(bad))):
        import_gguf(str(bad), str(tmp_path / "out"))
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(EngineError, match="already exists"):
        import_gguf(GGUF, str(existing))
    assert (existing / "keep.txt").read_text() == "mine"
