"""The trained model in Hugging Face format: an adapter folder (peft), a merged full model, or the
full fine-tuned weights rounded once to the job's dtype — written to a temporary folder and
renamed (outputs.atomic_folder), with the base model's tokenizer, chat template and generation
config next to it."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from torch import nn

from .distributed import full_model_state
from .job import Job
from .modeling import load_model, torch_dtype
from .outputs import TOKENIZER_FILES, TOKENIZER_FOLDERS, atomic_folder, copy_model_files
from .precision import Precision, cast_floating, write_config_dtype


def save_trained_model(model: nn.Module, job: Job, precision: Precision, *, is_main: bool) -> None:
    """Collective under torchrun (every rank gathers its shards); rank 0 writes."""
    adapter = job.adapter is not None
    state = full_model_state(model, trainable_only=adapter)
    if not adapter and precision.master_weights:
        state = cast_floating(state, torch_dtype(job.model.dtype))
    if not is_main:
        return
    with atomic_folder(job.output.dir) as tmp:
        if adapter and job.output.save == "adapter":
            model.save_pretrained(tmp, state_dict=state, selected_adapters=["default"])
        elif adapter:
            save_merged(model, job, state, tmp)
        else:
            model.save_pretrained(tmp, state_dict=state)
            if precision.master_weights:
                write_config_dtype(tmp, job.model.dtype)
        copy_model_files(job.model.path, tmp, TOKENIZER_FILES + TOKENIZER_FOLDERS + ("generation_config.json",), overwrite=False)


def save_merged(model: nn.Module, job: Job, adapter_state: dict[str, Any], out: str) -> None:
    """LoRA trained, full model wanted: merge the adapter into a fresh full-precision base."""
    from peft import PeftModel

    with tempfile.TemporaryDirectory(prefix=".adapter-", dir=os.path.dirname(os.path.abspath(out))) as staging:
        model.save_pretrained(staging, state_dict=adapter_state, selected_adapters=["default"])
        base = load_model(job.model.path, job.model.dtype, trust_remote_code=job.model.trust_remote_code, device="cpu")
        PeftModel.from_pretrained(base, staging).merge_and_unload().save_pretrained(out)
