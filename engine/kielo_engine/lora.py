"""LoRA and QLoRA adapters through peft.

On an NF4 base (nf4.NF4Linear layers) peft does not know the layer type, so we register a LoRA
layer for it through peft's custom-module API (`LoraConfig._register_custom_module`, see
https://huggingface.co/docs/peft/developer_guides/custom_models). `all-linear` is resolved here,
not by peft, because peft's resolver only recognises nn.Linear/Conv1D.
"""

from __future__ import annotations

import os

import peft
from peft.tuners.lora.layer import Linear as PeftLoraLinear
from torch import nn

from .errors import EngineError
from .nf4 import NF4Linear


class LoraNF4Linear(PeftLoraLinear):
    """peft's LoRA Linear over an NF4 base: y = base(x) + B·A·dropout(x)·α/r.

    The forward path is peft's own; only the layer's shape lookup and merging differ, because the
    base weight is packed 4-bit data. Merging happens in `merge.merge_adapter`, into full weights.
    """

    def _get_in_out_features(self, module: nn.Module) -> tuple[int, int]:
        return module.in_features, module.out_features

    def merge(self, safe_merge: bool = False, adapter_names: list[str] | None = None) -> None:
        raise EngineError(
            "bad-job",
            "a LoRA adapter cannot be merged into a 4-bit NF4 layer in place",
            "merge with `kielo merge` (merge_adapter), which loads the base in full precision",
        )

    def unmerge(self) -> None:
        return None


def linear_module_names(model: nn.Module) -> list[str]:
    """What `all-linear` means: every Linear/NF4Linear layer except the output head."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return sorted(
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear | NF4Linear) and module is not head
    )


def lora_config(
    model: nn.Module, *, r: int, alpha: float, dropout: float, target_modules: str | list[str]
) -> peft.LoraConfig:
    if r <= 0:
        raise EngineError("bad-job", f"LoRA rank must be positive, got {r}", None)
    quantized = any(isinstance(m, NF4Linear) for m in model.modules())
    targets: str | list[str] = target_modules
    if isinstance(target_modules, str) and target_modules.lower() == "all-linear" and quantized:
        targets = linear_module_names(model)
    config = peft.LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    if quantized:
        config._register_custom_module({NF4Linear: LoraNF4Linear})
    return config


def apply_lora(
    model: nn.Module,
    *,
    r: int,
    alpha: float,
    dropout: float,
    target_modules: str | list[str],
    quant: dict | None = None,
) -> peft.PeftModel:
    """Wrap `model` with a fresh LoRA adapter; only the adapter's parameters are trainable.

    `quant` is accepted for symmetry with load_model: whether the base is quantised is read from
    the model itself (NF4 layers present or not). LoRA weights are kept in fp32 even on a bf16
    base (peft's `autocast_adapter_dtype`), as QLoRA does.
    """
    del quant
    config = lora_config(model, r=r, alpha=alpha, dropout=dropout, target_modules=target_modules)
    try:
        wrapped = peft.get_peft_model(model, config)
    except ValueError as err:
        raise EngineError("bad-job", f"cannot apply LoRA: {err}", "check adapter.target_modules") from err
    return wrapped


def load_adapter(model: nn.Module, adapter_dir: str, *, trainable: bool) -> peft.PeftModel:
    """Load a saved peft LoRA adapter onto `model` (full-precision or NF4 base)."""
    if not os.path.isfile(os.path.join(adapter_dir, "adapter_config.json")):
        raise EngineError(
            "model-not-found",
            f"{adapter_dir} is not a LoRA adapter folder (no adapter_config.json)",
            "give the folder an SFT run with an adapter wrote (its model/ folder)",
        )
    config = peft.LoraConfig.from_pretrained(adapter_dir)
    if any(isinstance(m, NF4Linear) for m in model.modules()):
        config._register_custom_module({NF4Linear: LoraNF4Linear})
    return peft.PeftModel.from_pretrained(model, adapter_dir, config=config, is_trainable=trainable)


def trainable_parameter_count(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; packed NF4 buffers count as their element count."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    total += sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, NF4Linear))
    return trainable, total


__all__ = ["apply_lora", "load_adapter", "LoraNF4Linear", "linear_module_names", "trainable_parameter_count"]
