"""The peers of bench_speed.py: the training loop as Hugging Face users write it, run on the same
random-init, real-shape models and the same token lengths as kielo.

    python3 bench_peers.py RUNS.json    # a list of {"spec": {...}, "result": "path.json"}, run in order

bench_speed.py starts one process per run on a GPU (a fresh GPU each); its CPU rehearsal may pass
several runs to one process. Each run writes its result JSON atomically; a run that fails writes
status FAIL or OOM with the message (traceback on stderr) and the next run still goes.

The loop (what `Trainer` does, written out): AutoModelForCausalLM in bf16 with sdpa attention
(full fine-tuning: fp32 weights under bf16 autocast, as `Trainer(bf16=True)` trains an fp32 model);
peft's get_peft_model (LoRA r 16, α 32, dropout 0.05, all-linear); QLoRA: bitsandbytes NF4 with
double quantisation and bf16 compute, prepare_model_for_kbit_training; gradient checkpointing
(non-reentrant) when the spec says so; fused AdamW; batches right-padded to their longest row, labels
−100 on the prompt and the padding; loss from model(labels=…); clip to norm 1.0; step.
Liger (`runner` "hf+liger"): apply_liger_kernel_to_llama() before the model is made (RoPE, RMSNorm,
SwiGLU, fused linear cross-entropy: the logits are never materialised).
DPO: the policy is the LoRA model; the reference is the same model with the adapter disabled
(`with model.disable_adapter()`, no grad); chosen and rejected rows in one padded batch; sigmoid
loss, β 0.1; per-token log-probs as TRL's selective_log_softmax computes them.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

import numpy as np
from bench_common import FIRST_TOKEN_ID, write_json

IGNORE_INDEX = -100
DPO_BETA = 0.1


def load(spec: dict[str, Any], device: Any) -> tuple[Any, float]:
    """The model as the spec's user loads it, and the seconds it took."""
    import torch
    from transformers import AutoModelForCausalLM

    started = time.perf_counter()
    on_gpu = device.type == "cuda"
    compute = torch.bfloat16 if on_gpu else torch.float32
    if spec["runner"] == "hf+liger":
        from liger_kernel.transformers import apply_liger_kernel_to_llama

        apply_liger_kernel_to_llama()  # rope, rms_norm, swiglu, fused_linear_cross_entropy
    # Full fine-tuning: fp32 master weights, bf16 through autocast.
    kwargs: dict[str, Any] = {"attn_implementation": "sdpa", "dtype": torch.float32 if spec["adapter"] is None else compute,
                              "device_map": {"": device.index or 0} if on_gpu else {"": "cpu"}}
    if spec["adapter"] == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute,
        )
    model = AutoModelForCausalLM.from_pretrained(spec["model_dir"], **kwargs)
    checkpointing = {"use_reentrant": False}
    if spec["adapter"] is not None:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if spec["adapter"] == "qlora":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=spec["checkpointing"], gradient_checkpointing_kwargs=checkpointing)
        lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
    if spec["checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpointing)
    model.config.use_cache = False
    model.train()
    if on_gpu:
        torch.cuda.synchronize(device)
    return model, time.perf_counter() - started


def count_parameters(model: Any) -> tuple[int, int]:
    """(all, trainable); a bitsandbytes 4-bit weight counts its elements, not its packed bytes."""
    total = trainable = 0
    for p in model.parameters():
        n = p.numel()
        if p.__class__.__name__ == "Params4bit":
            n = int(np.prod(p.quant_state.shape))
        total += n
        trainable += n if p.requires_grad else 0
    return total, trainable


def pad_rows(rows: list[tuple[Any, int]], device: Any) -> dict[str, Any]:
    """Right-padded batch (DataCollatorForSeq2Seq-style, padded to the longest row): input_ids,
    attention_mask, labels (−100 on the first `prompt` tokens and on the padding)."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.zeros(len(rows), width, dtype=torch.long)
    attention = torch.zeros(len(rows), width, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, (ids, prompt) in enumerate(rows):
        n = len(ids)
        input_ids[i, :n] = torch.from_numpy(ids)
        attention[i, :n] = 1
        labels[i, prompt:n] = input_ids[i, prompt:n]
    return {k: v.to(device, non_blocking=True) for k, v in (("input_ids", input_ids), ("attention_mask", attention), ("labels", labels))}


def selective_log_softmax(logits: Any, index: Any) -> Any:
    """log_softmax(logits).gather(index) as TRL computes it: logsumexp in fp32/fp64, row by row for
    lower precisions (trl.trainer.utils.selective_log_softmax)."""
    import torch

    if logits.dtype in (torch.float32, torch.float64):
        picked = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        return picked - torch.stack([torch.logsumexp(row, dim=-1) for row in logits])
    rows = []
    for row_logits, row_labels in zip(logits, index):
        row_logps = torch.log_softmax(row_logits, dim=-1)
        rows.append(row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1))
    return torch.stack(rows)


def sequence_logps(logits: Any, batch: dict[str, Any]) -> Any:
    labels = batch["labels"][:, 1:]
    mask = labels != IGNORE_INDEX
    logps = selective_log_softmax(logits[:, :-1], labels.clamp(min=0))
    return (logps * mask).sum(-1)


def dpo_loss(model: Any, batch: dict[str, Any]) -> Any:
    import torch
    import torch.nn.functional as F

    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    with torch.no_grad(), model.disable_adapter():
        ref_chosen, ref_rejected = sequence_logps(model(**inputs).logits, batch).chunk(2)
    chosen, rejected = sequence_logps(model(**inputs).logits, batch).chunk(2)
    margin = (chosen - ref_chosen) - (rejected - ref_rejected)
    return -F.logsigmoid(DPO_BETA * margin).mean()


def micro_batch_rows(spec: dict[str, Any], micro: list[list[int]], rng: np.random.Generator) -> list[tuple[Any, int]]:
    """Random token ids of the micro-batch's lengths. SFT: (tokens, prompt) per row. DPO: (prompt,
    chosen, rejected) per pair → the chosen rows, then the rejected rows (TRL's order), each pair's
    two rows sharing the same prompt ids."""
    vocab = spec["vocab_size"]
    if spec["method"] == "sft":
        return [(rng.integers(FIRST_TOKEN_ID, vocab, size=n), prompt) for n, prompt in micro]
    prompts = [rng.integers(FIRST_TOKEN_ID, vocab, size=p) for p, _, _ in micro]
    chosen = [(np.concatenate([q, rng.integers(FIRST_TOKEN_ID, vocab, size=c)]), len(q)) for q, (_, c, _) in zip(prompts, micro)]
    rejected = [(np.concatenate([q, rng.integers(FIRST_TOKEN_ID, vocab, size=r)]), len(q)) for q, (_, _, r) in zip(prompts, micro)]
    return chosen + rejected


def train(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    device = torch.device("cpu" if spec["cpu"] or not torch.cuda.is_available() else "cuda")
    torch.manual_seed(spec["seed"])
    rng = np.random.default_rng(spec["seed"])
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    model, load_seconds = load(spec, device)
    total, trainable = count_parameters(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0, fused=device.type == "cuda")
    autocast = spec["adapter"] is None and device.type == "cuda"
    result: dict[str, Any] = {"params": total, "trainable_params": trainable, "load_seconds": load_seconds,
                              "step_tokens": [], "step_computed_tokens": [], "step_pairs": [], "step_seconds": [], "step_loss": []}
    for step in spec["steps"]:
        batches = [pad_rows(micro_batch_rows(spec, micro, rng), device) for micro in step]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        loss_sum = 0.0
        for batch in batches:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                loss = dpo_loss(model, batch) if spec["method"] == "dpo" else model(**batch).loss
            (loss / len(batches)).backward()
            loss_sum += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        result["step_seconds"].append(time.perf_counter() - started)
        result["step_tokens"].append(int(sum(int(b["attention_mask"].sum()) for b in batches)))
        result["step_computed_tokens"].append(int(sum(b["input_ids"].numel() for b in batches)))
        result["step_pairs"].append(sum(len(micro) for micro in step) if spec["method"] == "dpo" else 0)
        result["step_loss"].append(loss_sum / len(batches))
    if device.type == "cuda":
        result["peak_memory_bytes"] = int(torch.cuda.max_memory_allocated(device))
    else:
        import resource

        result["peak_memory_bytes"] = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux
    result["status"] = "ok"
    return result


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    try:
        return train(spec)
    except torch.OutOfMemoryError as err:
        return {"status": "OOM", "message": f"out of GPU memory: {str(err).splitlines()[0]}"}
    except Exception as err:  # noqa: BLE001 — one failed peer must not stop the benchmark
        traceback.print_exc(file=sys.stderr)
        return {"status": "FAIL", "message": f"{type(err).__name__}: {err}"}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: bench_peers.py RUNS.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        runs = json.load(f)
    for run in runs:
        started = time.time()
        print(f"--- peer {run['spec']['name']}", flush=True)
        result = run_one(run["spec"])
        result["wall_seconds"] = time.time() - started
        write_json(run["result"], result)
        print(f"--- peer {run['spec']['name']}: {result['status']} {result.get('message', '')}", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main(sys.argv[1:]))
