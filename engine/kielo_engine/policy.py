"""The model a job trains: the base in the job's precision, plus a new or continued LoRA/QLoRA
adapter — and, for DPO after LoRA SFT with `adapter-disabled`, the SFT adapter a second time as
the frozen reference adapter (disabling the trained adapter would give the base, not the SFT
model the run starts from)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .dpo import REF_ADAPTER
from .job import Job
from .lora import apply_lora, load_adapter
from .modeling import load_model
from .precision import precision_of


def quant_dict(job: Job) -> dict[str, Any] | None:
    if job.adapter is None or job.adapter.quant is None:
        return None
    q = job.adapter.quant
    return {"type": q.type, "block_size": q.block_size, "double_quant": q.double_quant, "compute_dtype": q.compute_dtype}


def load_policy(job: Job, device: torch.device, attn_implementation: str) -> nn.Module:
    model = load_model(
        job.model.path,
        precision_of(job).load_dtype,
        trust_remote_code=job.model.trust_remote_code,
        attn_implementation=attn_implementation,
        device=device,
        quant=quant_dict(job),
    )
    if job.adapter is None:
        return model
    if job.init_adapter is not None:
        model = load_adapter(model, job.init_adapter, trainable=True)
        if job.dpo is not None and job.dpo.reference == "adapter-disabled":
            # Disabling the adapter would give the base, not the SFT model the run starts from.
            model.load_adapter(job.init_adapter, adapter_name=REF_ADAPTER, is_trainable=False)
        return model
    targets = job.adapter.target_modules
    return apply_lora(
        model,
        r=job.adapter.r,
        alpha=job.adapter.alpha,
        dropout=job.adapter.dropout,
        target_modules=targets if isinstance(targets, str) else list(targets),
        quant=quant_dict(job),
    )
