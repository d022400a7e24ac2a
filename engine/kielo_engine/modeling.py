"""Loading a Hugging Face causal LM from a local folder: safetensors only, no remote code by default.

`quant={"type": "nf4", "block_size": 64, "double_quant": True, "compute_dtype": "bf16"}` loads the
base for QLoRA: every Linear layer except the output head becomes an NF4 layer (nf4.py), or a
bitsandbytes `Linear4bit` when `KIELO_NF4=bitsandbytes` and bitsandbytes is importable.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch
import transformers
from torch import nn

from .errors import EngineError
from .nf4 import DEFAULT_BLOCK_SIZE, NF4Linear, nf4_backend, quantize_linear_layers

DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
}

SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def torch_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        raise EngineError("bad-job", f"unknown dtype {name!r}", "use one of bf16, fp16, fp32") from None


def check_model_folder(path: str) -> None:
    """Raise model-not-found naming the path and what is missing; refuse pickle-only checkpoints."""
    if not os.path.isdir(path):
        raise EngineError(
            "model-not-found",
            f"model folder {path} does not exist",
            "give the path of a local folder in Hugging Face format (config.json + *.safetensors)",
        )
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise EngineError("model-not-found", f"{path} has no config.json", "is this a Hugging Face model folder?")
    names = set(os.listdir(path))
    has_safetensors = any(n in names for n in SAFETENSORS_FILES) or any(n.endswith(".safetensors") for n in names)
    if has_safetensors:
        return
    if any(n in names for n in PICKLE_FILES) or any(n.endswith(".bin") for n in names):
        raise EngineError(
            "model-not-found",
            f"{path} has only PyTorch pickle weights (.bin); kielo loads safetensors only",
            "convert once with transformers: AutoModelForCausalLM.from_pretrained(path)"
            ".save_pretrained(out, safe_serialization=True), after checking you trust the file",
        )
    raise EngineError("model-not-found", f"{path} has no model weights (model.safetensors or an index)", None)


def check_architecture(path: str, trust_remote_code: bool) -> None:
    """Refuse, with a reason, a model whose code transformers does not ship (before any code runs)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    try:
        config = read_json(os.path.join(path, "config.json"))
    except (OSError, ValueError) as err:
        raise EngineError("model-not-found", f"{path}/config.json is not readable JSON: {err}", None) from err
    model_type = config.get("model_type")
    if model_type in CONFIG_MAPPING:
        return
    if "auto_map" in config and not trust_remote_code:
        raise EngineError(
            "bad-job",
            f"{path} needs custom model code (model_type {model_type!r}, auto_map in config.json) that kielo does "
            "not run by default",
            "set model.trust_remote_code: true in the recipe if you trust this model's code",
        )
    if "auto_map" not in config:
        raise EngineError(
            "bad-job",
            f"{path}: model_type {model_type!r} is not known to transformers {transformers.__version__}",
            "upgrade transformers on this host, or check config.json",
        )


def quant_settings(quant: dict[str, Any]) -> tuple[int, bool, torch.dtype]:
    kind = quant.get("type", "nf4")
    if kind != "nf4":
        raise EngineError("bad-job", f"unknown quantisation type {kind!r}", "only nf4 is supported")
    block_size = int(quant.get("block_size", DEFAULT_BLOCK_SIZE))
    return block_size, bool(quant.get("double_quant", False)), torch_dtype(str(quant.get("compute_dtype", "bf16")))


def load_model(
    path: str,
    dtype: str = "fp32",
    *,
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
    device: str | torch.device | None = None,
    quant: dict | None = None,
) -> transformers.PreTrainedModel:
    check_model_folder(path)
    check_architecture(path, trust_remote_code)
    kwargs: dict[str, Any] = {
        "dtype": torch_dtype(dtype),
        "trust_remote_code": trust_remote_code,
        "local_files_only": True,
        "use_safetensors": True,
    }
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation

    use_bnb = quant is not None and nf4_backend() == "bitsandbytes"
    if quant is not None:
        block_size, double_quant, compute_dtype = quant_settings(quant)
        kwargs["dtype"] = compute_dtype
        if use_bnb:
            kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=double_quant,
                bnb_4bit_compute_dtype=compute_dtype,
            )
            if device is not None:
                kwargs["device_map"] = {"": str(device)}
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except (ValueError, OSError, KeyError) as err:
        text = str(err)
        raise EngineError("model-not-found", f"could not load the model in {path}: {text.splitlines()[0]}", None) from err

    if quant is not None and not use_bnb:
        block_size, double_quant, compute_dtype = quant_settings(quant)
        output_head = model.get_output_embeddings()
        quantize_linear_layers(
            model,
            block_size=block_size,
            double_quant=double_quant,
            compute_dtype=compute_dtype,
            device=device,
            skip=lambda _name, module: module is output_head,
        )
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        model.kielo_quant = {"type": "nf4", "block_size": block_size, "double_quant": double_quant,
                             "compute_dtype": next(k for k, v in DTYPES.items() if v == compute_dtype)}
    if device is not None and not use_bnb:
        model.to(device)
    return model


def is_quantized(model: nn.Module) -> bool:
    return any(isinstance(m, NF4Linear) for m in model.modules())


def read_json(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
