"""The training loop: SFT and DPO from a job folder, readable top to bottom.

    run(job_dir)
      load and check the job, data and schedule            (job.py, data.py)
      load the model, add LoRA/QLoRA, NEFTune, the DPO reference
      shard with FSDP2 under torchrun                       (distributed.py)
      AdamW + warmup/cosine|linear|constant schedule
      resume from the last complete checkpoint              (checkpoint.py)
      for each optimizer step of the schedule:
          forward/backward every micro-batch of this rank, loss = Σ token NLL / trained tokens
          of the whole step (all micro-batches, all ranks), or Σ pair loss / pairs for DPO
          clip, step, log; eval / checkpoint when due; stop cleanly on SIGINT/SIGTERM
      write the model or adapter in Hugging Face format     (atomically)

Deliberate choices (docs/engine.md, "Training loop"):
- Weight decay applies to matrices only: parameters with fewer than 2 dimensions (biases, norm
  scales) are not decayed — what transformers' Trainer does by name (bias, LayerNorm), decided
  here by shape so it holds for every architecture (RMSNorm, Gemma norms …).
- The learning-rate schedules are transformers' `get_{cosine,linear,constant}_schedule_with_warmup`
  with warmup = ceil(warmup_ratio · steps); the lr of step k (1-based) is lr·λ(k−1).
- The DPO loss of a step is Σ per-pair loss / pairs of the step; TRL's mean per micro-batch ÷
  accumulation steps is the same when micro-batches are equal.
- Full fine-tuning in bf16 keeps fp32 master weights (and so fp32 gradients and AdamW states) and
  computes in bf16: `torch.autocast` in one process, FSDP2's `MixedPrecisionPolicy(param_dtype=bf16,
  reduce_dtype=fp32)` under torchrun. Updating bf16 weights directly rounds away any step smaller
  than half a bf16 ulp (2^-9 relative): at lr 1e-5 most weights would never move.
  LoRA/QLoRA keep the frozen base in the job's dtype and the adapter in fp32 (peft).
- The DPO reference runs in eval mode (no dropout): the adapter-disabled policy, the policy with
  the initial adapter loaded a second time as a frozen "ref" adapter (DPO after LoRA SFT — as TRL
  does), a frozen copy of the initial policy (full fine-tuning), or log-probs precomputed once.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import resource
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from . import checkpoint
from .data import CompiledData, PreferenceBatch, Schedule, eval_batches, read_schedule
from .distributed import Dist, full_model_state, full_state, init_distributed, load_full_state, set_gradient_sync, shard_model
from .errors import EngineError
from .events import EventLog
from .job import Job, load_job

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)
REF_ADAPTER = "ref"

# ---- seeds, schedules, optimizer --------------------------------------------------------------


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def warmup_steps(job: Job) -> int:
    return math.ceil(job.steps * job.optim.warmup_ratio)


def lr_lambda(schedule: str, warmup: int, total: int) -> Callable[[int], float]:
    """transformers' get_{cosine,linear,constant}_schedule_with_warmup, λ(current_step)."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if schedule == "constant":
            return 1.0
        if schedule == "linear":
            return max(0.0, (total - step) / max(1, total - warmup))
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 2.0 * 0.5 * progress)))

    return factor


def make_optimizer(model: nn.Module, job: Job, device: torch.device) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": job.optim.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.AdamW(
        groups,
        lr=job.optim.lr,
        betas=job.optim.betas,
        eps=job.optim.eps,
        fused=device.type == "cuda",
    )


# ---- model ------------------------------------------------------------------------------------


def quant_dict(job: Job) -> dict[str, Any] | None:
    if job.adapter is None or job.adapter.quant is None:
        return None
    q = job.adapter.quant
    return {"type": q.type, "block_size": q.block_size, "double_quant": q.double_quant, "compute_dtype": q.compute_dtype}


@dataclass(frozen=True)
class Precision:
    """How a job stores and computes. `param_dtype`: the trained (optimizer's) parameters and
    their AdamW states; `compute_dtype`: matmuls and activations of forward and backward;
    `load_dtype`: what the model's weights are loaded as."""

    load_dtype: str
    param_dtype: str
    compute_dtype: str
    # fp32 master weights computed in a lower precision (full fine-tuning in bf16): autocast or
    # FSDP's mixed-precision policy, and the output rounded to the job's dtype. Not LoRA: its base
    # is already in the compute dtype and peft handles the fp32 adapter itself.
    master_weights: bool


def precision_of(job: Job) -> Precision:
    if job.adapter is None:
        # Full fine-tuning: fp32 master weights whatever the job's dtype; the dtype is the compute.
        return Precision(load_dtype="fp32", param_dtype="fp32", compute_dtype=job.model.dtype, master_weights=job.model.dtype != "fp32")
    compute = job.adapter.quant.compute_dtype if job.adapter.quant is not None else job.model.dtype
    # The frozen base stays in the job's dtype; peft keeps the adapter weights in fp32.
    return Precision(load_dtype=job.model.dtype, param_dtype="fp32", compute_dtype=compute, master_weights=False)


def load_policy(job: Job, device: torch.device) -> nn.Module:
    from .lora import apply_lora, load_adapter
    from .modeling import load_model

    model = load_model(
        job.model.path,
        precision_of(job).load_dtype,
        trust_remote_code=job.model.trust_remote_code,
        attn_implementation=job.model.attn_implementation,
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


@contextlib.contextmanager
def reference_mode(model: nn.Module, reference: str) -> Iterator[None]:
    """The policy as its own DPO reference: adapter off, or the frozen "ref" adapter active."""
    was_training = model.training
    model.eval()
    try:
        if reference == "adapter-disabled" and REF_ADAPTER in getattr(model, "peft_config", {}):
            model.set_adapter(REF_ADAPTER, inference_mode=True)
            try:
                yield
            finally:
                model.set_adapter("default")
        elif reference == "adapter-disabled":
            with model.disable_adapter():
                yield
        else:
            yield
    finally:
        model.train(was_training)


def logits_of(model: nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
    return model(**inputs, use_cache=False).logits


# ---- the state of a run -----------------------------------------------------------------------


@dataclass
class StopRequest:
    """Set by SIGINT/SIGTERM; the loop finishes the current step, checkpoints and stops."""

    requested: bool = False
    signal_name: str = ""
    previous: dict[int, Any] = field(default_factory=dict)

    def install(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            self.requested = True
            self.signal_name = signal.Signals(signum).name
            # A second signal stops at once (the default action).
            signal.signal(signum, signal.SIG_DFL)

        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, handler)

    def uninstall(self) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
        self.previous.clear()


@dataclass
class StepTotals:
    """Sums over this rank's micro-batches of one step; summed over ranks before logging."""

    loss_sum: float = 0.0
    tokens: int = 0
    rewards_chosen: float = 0.0
    rewards_rejected: float = 0.0
    correct: float = 0.0
    pairs: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def as_list(self) -> list[float]:
        return [self.loss_sum, self.tokens, self.rewards_chosen, self.rewards_rejected, self.correct, self.pairs]

    @staticmethod
    def from_list(v: list[float]) -> StepTotals:
        return StepTotals(v[0], int(v[1]), v[2], v[3], v[4], int(v[5]))


def peak_memory(device: torch.device) -> tuple[int, str]:
    """GPU: torch.cuda.max_memory_allocated (tensors only). CPU: the process's peak RSS."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda-max-memory-allocated"
    # Linux reports ru_maxrss in KiB.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "cpu-max-rss"


def atomic_write_bytes(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Trainer:
    def __init__(self, job: Job, dist: Dist, events: EventLog, stop: StopRequest):
        self.job, self.dist, self.events, self.stop = job, dist, events, stop
        self.device = dist.device
        self.is_dpo = job.method == "dpo"
        self.train_seconds = 0.0
        self.train_tokens = 0
        self.precision = precision_of(job)
        # One process computes in bf16 through autocast; under torchrun FSDP2's mixed-precision
        # policy casts the shards instead (distributed.shard_model), so no autocast there.
        self.autocast_dtype: torch.dtype | None = None
        if self.precision.master_weights and not dist.enabled:
            from .modeling import torch_dtype

            self.autocast_dtype = torch_dtype(self.precision.compute_dtype)

    def logits(self, model: nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
        """The forward pass in the compute dtype: the policy, its frozen copy and every reference
        pass go through here, so reference and policy compute alike (DPO loss ln 2 at step 1).
        Losses are computed outside, in fp32 (losses.py upcasts the logits)."""
        if self.autocast_dtype is None:
            return logits_of(model, inputs)
        with torch.autocast(self.device.type, dtype=self.autocast_dtype):
            return logits_of(model, inputs)

    # ---- setup --------------------------------------------------------------------------------

    def load_data(self) -> None:
        job = self.job
        self.train_data = CompiledData(job.train_data_dir)
        want = "preference" if self.is_dpo else "sft"
        if self.train_data.kind != want:
            raise EngineError("bad-job", f"{job.train_data_dir}: method \"{job.method}\" needs data of kind \"{want}\", the manifest says \"{self.train_data.kind}\"")
        self.schedule: Schedule = read_schedule(job.schedule_path, self.train_data.sequences)
        if len(self.schedule.steps) != job.steps or self.schedule.micro_batches_per_step != job.micro_batches_per_step:
            raise EngineError(
                "bad-job",
                f"{job.schedule_path}: holds {len(self.schedule.steps)} steps of {self.schedule.micro_batches_per_step} micro-batches, "
                f"but job.json says `steps` {job.steps} and `micro_batches_per_step` {job.micro_batches_per_step}",
            )
        if job.micro_batches_per_step % self.dist.world != 0:
            raise EngineError(
                "bad-job",
                f"job.json: `micro_batches_per_step` {job.micro_batches_per_step} is not a multiple of the {self.dist.world} processes",
                "every rank runs the same number of micro-batches: prepare the job for this number of GPUs",
            )
        self.eval_data = None
        if os.path.isdir(job.eval_data_dir):
            self.eval_data = CompiledData(job.eval_data_dir)
            if self.eval_data.kind != want:
                raise EngineError("bad-job", f"{job.eval_data_dir}: needs data of kind \"{want}\", the manifest says \"{self.eval_data.kind}\"")
        elif job.eval is not None:
            raise EngineError("bad-job", f"job.json: field `eval` is set but {job.eval_data_dir} does not exist")

    def load_models(self) -> None:
        job = self.job
        self.model = load_policy(job, self.device)
        vocab = self.model.get_input_embeddings().num_embeddings
        self.train_data.check_vocab(vocab)
        if self.eval_data is not None:
            self.eval_data.check_vocab(vocab)
        if job.gradient_checkpointing:
            self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.model.config.use_cache = False
        self.reference: nn.Module | None = None
        if self.is_dpo and job.dpo is not None and job.dpo.reference == "frozen-copy":
            self.reference = copy.deepcopy(self.model).eval()
            for p in self.reference.parameters():
                p.requires_grad_(False)
        from .lora import trainable_parameter_count

        # Counts packed NF4 weights by their element count, so QLoRA reports the model's size.
        self.params_trainable, self.params_total = trainable_parameter_count(self.model)
        if self.dist.enabled:
            from .modeling import torch_dtype

            compute = torch_dtype(self.precision.compute_dtype) if self.precision.master_weights else None
            shard_model(self.model, self.dist, compute_dtype=compute)
            if self.reference is not None:
                shard_model(self.reference, self.dist, compute_dtype=compute)
        self.model.train()
        self.neftune = None
        if job.neftune_alpha is not None:
            from .neftune import attach_neftune

            self.neftune = attach_neftune(self.model, job.neftune_alpha)

    def make_optimizer(self) -> None:
        job = self.job
        self.optimizer = make_optimizer(self.model, job, self.device)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(job.optim.schedule, warmup_steps(job), job.steps))

    def resume(self) -> int:
        ckpt_dir = self.job.checkpoints_dir
        if self.dist.is_main:
            checkpoint.remove_partial(ckpt_dir)
        self.dist.barrier()
        latest = checkpoint.latest_checkpoint(ckpt_dir)
        if latest is None:
            return 0
        step, path = latest
        trainable_only = self.job.adapter is not None
        model_state = checkpoint.load_file(os.path.join(path, "model.pt"))
        optim_state = checkpoint.load_file(os.path.join(path, "optimizer.pt"))
        load_full_state(self.model, self.optimizer, model_state, optim_state, trainable_only)
        state = checkpoint.load_file(os.path.join(path, "trainer.pt"))
        self.scheduler.load_state_dict(state["scheduler"])
        rng_path = os.path.join(path, f"rng-{self.dist.rank}.pt")
        if os.path.isfile(rng_path):
            checkpoint.set_rng_state(checkpoint.load_file(rng_path))
        else:  # resumed on more processes than wrote the checkpoint: new ranks get fresh streams
            seed_everything(self.job.seed + 1000 * self.dist.rank + step)
        return int(state["step"])

    # ---- DPO reference log-probs --------------------------------------------------------------

    def reference_logps(self, batch: PreferenceBatch, stored: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        from .losses import sequence_logps

        assert self.job.dpo is not None
        if stored is not None:
            ref = stored[batch.pair_indices].to(self.device, torch.float32)
            return ref[:, 0], ref[:, 1]
        inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        with torch.no_grad():
            if self.reference is not None:
                logits = self.logits(self.reference, inputs)
            else:
                with reference_mode(self.model, self.job.dpo.reference):
                    logits = self.logits(self.model, inputs)
            logps = sequence_logps(logits, batch.input_ids, batch.completion_mask)
        return logps.chunk(2)

    def precompute_reference(self, data: CompiledData, name: str, resumed_from: int) -> torch.Tensor:
        """One pass of the initial policy over every pair; stored as float64 [pairs, 2] (chosen,
        rejected) in the job folder and reused by a resumed run."""
        from .losses import sequence_logps

        path = os.path.join(self.job.dir, name)
        pairs = data.sequences
        if os.path.isfile(path) and os.path.getsize(path) == pairs * 2 * 8:
            return torch.from_numpy(np.fromfile(path, dtype="<f8").reshape(pairs, 2).copy())
        if resumed_from > 0:
            raise EngineError(
                "bad-job",
                f"{path} is missing or has the wrong size, but the run resumes from step {resumed_from}: the reference must be the policy before step 1",
                f"remove {self.job.checkpoints_dir} to start the run over",
            )
        batches = self.rank_batches(eval_batches(data, self.schedule.largest_micro_batch()))
        out = torch.zeros(pairs, 2, dtype=torch.float64)
        with torch.no_grad(), reference_mode(self.model, "precomputed"):
            for seqs, real in batches:
                batch = data.collate_preference(seqs).to(self.device)
                logits = self.logits(self.model, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})
                chosen, rejected = sequence_logps(logits, batch.input_ids, batch.completion_mask).chunk(2)
                if real:
                    out[seqs, 0] = chosen.double().cpu()
                    out[seqs, 1] = rejected.double().cpu()
        if self.dist.enabled:  # each rank filled its own pairs, zeros elsewhere
            out = torch.tensor(self.dist.sum(out.flatten().tolist()), dtype=torch.float64).reshape(pairs, 2)
        if self.dist.is_main:
            atomic_write_bytes(path, out.numpy().astype("<f8").tobytes())
        self.dist.barrier()
        return out

    def rank_batches(self, batches: list[list[int]]) -> list[tuple[list[int], bool]]:
        """This rank's share of unscheduled batches (eval, reference pass). Under FSDP every rank
        must run the same number of forwards, so short ranks repeat a batch and discard it."""
        W, r = self.dist.world, self.dist.rank
        rounds = math.ceil(len(batches) / W)
        mine = []
        for i in range(rounds):
            k = i * W + r
            mine.append((batches[k], True) if k < len(batches) else (batches[0], False))
        return mine

    # ---- one micro-batch ----------------------------------------------------------------------

    def sft_micro_batch(self, seqs: list[int], trained_in_step: int, totals: StepTotals) -> None:
        from .losses import sft_loss_sum

        batch = self.train_data.collate_sft(seqs).to(self.device)
        logits = self.logits(self.model, batch.model_inputs())
        loss_sum, _ = sft_loss_sum(logits, batch.labels)
        # FSDP averages gradients over ranks; × world turns that average back into the sum.
        (loss_sum * (self.dist.world / max(1, trained_in_step))).backward()
        totals.loss_sum += float(loss_sum.detach())
        totals.tokens += batch.tokens

    def dpo_micro_batch(self, seqs: list[int], pairs_in_step: int, totals: StepTotals) -> None:
        from .losses import completion_lengths, dpo_loss, sequence_logps

        spec = self.job.dpo
        assert spec is not None
        batch = self.train_data.collate_preference(seqs).to(self.device)
        ref_chosen, ref_rejected = self.reference_logps(batch, self.ref_train)
        logits = self.logits(self.model, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})
        chosen, rejected = sequence_logps(logits, batch.input_ids, batch.completion_mask).chunk(2)
        chosen_len, rejected_len = completion_lengths(batch.completion_mask).chunk(2)
        losses, r_chosen, r_rejected = dpo_loss(
            chosen, rejected, ref_chosen, ref_rejected,
            beta=spec.beta, loss_type=spec.loss, label_smoothing=spec.label_smoothing,
            chosen_lengths=chosen_len, rejected_lengths=rejected_len,
        )
        (losses.sum() * (self.dist.world / pairs_in_step)).backward()
        totals.loss_sum += float(losses.detach().sum())
        totals.tokens += batch.tokens
        totals.rewards_chosen += float(r_chosen.sum())
        totals.rewards_rejected += float(r_rejected.sum())
        totals.correct += float((r_chosen > r_rejected).float().sum())
        totals.pairs += batch.pairs

    # ---- one optimizer step -------------------------------------------------------------------

    def train_step(self, step: int) -> dict[str, Any]:
        started = time.perf_counter()
        all_micro = self.schedule.steps[step - 1]
        mine = self.schedule.for_rank(step, self.dist.rank, self.dist.world)
        # The normaliser comes from the schedule: every micro-batch of the step, every rank.
        if self.is_dpo:
            denominator = sum(len(mb) for mb in all_micro)
        else:
            denominator = self.train_data.trained_tokens([s for mb in all_micro for s in mb])
        lr = self.optimizer.param_groups[0]["lr"]
        totals = StepTotals()
        for i, seqs in enumerate(mine):
            set_gradient_sync(self.model, i == len(mine) - 1, self.dist)
            if self.is_dpo:
                self.dpo_micro_batch(seqs, denominator, totals)
            else:
                self.sft_micro_batch(seqs, denominator, totals)
        totals = StepTotals.from_list(self.dist.sum(totals.as_list()))
        loss = totals.loss_sum / max(1, denominator)
        if not math.isfinite(loss):
            raise EngineError(
                "nan",
                f"the loss is {loss} at step {step}",
                "lower the learning rate, train in bf16 rather than fp16, or look for broken rows in the data",
            )
        max_norm = self.job.optim.max_grad_norm if self.job.optim.max_grad_norm is not None else float("inf")
        params = [p for p in self.model.parameters() if p.requires_grad]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        if hasattr(grad_norm, "full_tensor"):
            grad_norm = grad_norm.full_tensor()
        grad_norm_value = float(grad_norm)
        if not math.isfinite(grad_norm_value):
            raise EngineError("nan", f"the gradient norm is {grad_norm_value} at step {step} (loss {loss:.6g})", "lower the learning rate, or train in bf16 rather than fp16")
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - started
        self.train_seconds += seconds
        self.train_tokens += totals.tokens
        fields: dict[str, Any] = {
            "step": step,
            "loss": loss,
            "lr": lr,
            "grad_norm": grad_norm_value,
            "tokens": totals.tokens,
            "trained_tokens": denominator if not self.is_dpo else None,
            "tokens_per_s": totals.tokens / seconds if seconds > 0 else None,
        }
        if self.is_dpo:
            n = max(1, totals.pairs)
            fields.pop("trained_tokens")
            fields.update(
                pairs=totals.pairs,
                rewards_chosen=totals.rewards_chosen / n,
                rewards_rejected=totals.rewards_rejected / n,
                margins=(totals.rewards_chosen - totals.rewards_rejected) / n,
                accuracy=totals.correct / n,
            )
        return fields

    # ---- evaluation ---------------------------------------------------------------------------

    def evaluate(self, step: int) -> dict[str, Any]:
        from .losses import dpo_loss, sequence_logps, sft_loss_sum, completion_lengths

        data = self.eval_data
        assert data is not None
        batches = self.rank_batches(eval_batches(data, self.schedule.largest_micro_batch()))
        self.model.eval()
        sums = [0.0] * 5  # loss sum, count, rewards chosen, rewards rejected, correct
        with torch.no_grad():
            for seqs, real in batches:
                if not self.is_dpo:
                    batch = data.collate_sft(seqs).to(self.device)
                    loss_sum, counted = sft_loss_sum(self.logits(self.model, batch.model_inputs()), batch.labels)
                    values = [float(loss_sum), counted, 0.0, 0.0, 0.0]
                else:
                    spec = self.job.dpo
                    assert spec is not None
                    pbatch = data.collate_preference(seqs).to(self.device)
                    ref_c, ref_r = self.reference_logps(pbatch, self.ref_eval)
                    logits = self.logits(self.model, {"input_ids": pbatch.input_ids, "attention_mask": pbatch.attention_mask})
                    c, r = sequence_logps(logits, pbatch.input_ids, pbatch.completion_mask).chunk(2)
                    cl, rl = completion_lengths(pbatch.completion_mask).chunk(2)
                    losses, rc, rr = dpo_loss(c, r, ref_c, ref_r, beta=spec.beta, loss_type=spec.loss, label_smoothing=spec.label_smoothing, chosen_lengths=cl, rejected_lengths=rl)
                    values = [float(losses.sum()), pbatch.pairs, float(rc.sum()), float(rr.sum()), float((rc > rr).float().sum())]
                if real:
                    sums = [a + b for a, b in zip(sums, values)]
        self.model.train()
        sums = self.dist.sum(sums)
        n = max(1.0, sums[1])
        fields: dict[str, Any] = {"step": step, "loss": sums[0] / n}
        if self.is_dpo:
            fields.update(pairs=int(sums[1]), rewards_chosen=sums[2] / n, rewards_rejected=sums[3] / n, margins=(sums[2] - sums[3]) / n, accuracy=sums[4] / n)
        else:
            fields["trained_tokens"] = int(sums[1])
        return fields

    # ---- checkpoints and output ---------------------------------------------------------------

    def save_checkpoint(self, step: int) -> None:
        ckpt_dir = self.job.checkpoints_dir
        if self.dist.is_main:
            checkpoint.begin(ckpt_dir, step)
        self.dist.barrier()
        tmp = checkpoint.temp_dir(ckpt_dir, step)
        model_state, optim_state = full_state(self.model, self.optimizer, trainable_only=self.job.adapter is not None)
        checkpoint.save_file(checkpoint.rng_state(), os.path.join(tmp, f"rng-{self.dist.rank}.pt"))
        if self.dist.is_main:
            checkpoint.save_file(model_state, os.path.join(tmp, "model.pt"))
            checkpoint.save_file(optim_state, os.path.join(tmp, "optimizer.pt"))
            checkpoint.save_file({"step": step, "scheduler": self.scheduler.state_dict()}, os.path.join(tmp, "trainer.pt"))
        self.dist.barrier()
        if self.dist.is_main:
            final = checkpoint.commit(ckpt_dir, step, self.job.keep_checkpoints)
            self.events.emit("checkpoint", step=step, path=final)
        self.dist.barrier()

    def save_output(self) -> str:
        """The final model in Hugging Face format, written to a temporary folder and renamed."""
        job = self.job
        out = job.output.dir
        adapter = job.adapter is not None
        if self.neftune is not None:
            self.neftune.remove()
            self.neftune = None
        state = full_model_state(self.model, trainable_only=adapter)
        if not adapter and self.precision.master_weights:
            state = self.in_job_dtype(state)
        if self.dist.is_main:
            parent = os.path.dirname(os.path.abspath(out))
            os.makedirs(parent, exist_ok=True)
            tmp = os.path.join(parent, f".tmp-{os.path.basename(out)}-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            if adapter and job.output.save == "adapter":
                self.model.save_pretrained(tmp, state_dict=state, selected_adapters=["default"])
            elif adapter:
                self.save_merged(state, tmp)
            else:
                self.model.save_pretrained(tmp, state_dict=state)
                if self.precision.master_weights:
                    self.set_saved_dtype(tmp)
            for name in TOKENIZER_FILES + ("generation_config.json",):
                src = os.path.join(job.model.path, name)
                if os.path.isfile(src) and not os.path.exists(os.path.join(tmp, name)):
                    shutil.copy2(src, os.path.join(tmp, name))
            old = None
            if os.path.exists(out):
                old = os.path.join(parent, f".old-{os.path.basename(out)}-{os.getpid()}")
                os.rename(out, old)
            os.rename(tmp, out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.dist.barrier()
        return out

    def in_job_dtype(self, state: dict[str, Any]) -> dict[str, Any]:
        """The fp32 master weights rounded once to the job's dtype: the output is as large as the
        model the job started from; the exact fp32 weights stay in the checkpoints."""
        from .modeling import torch_dtype

        dtype = torch_dtype(self.job.model.dtype)
        # Tied weights (lm_head = embed_tokens) share one tensor; cast each tensor once so they
        # still do and save_pretrained writes the tied weight once, as before.
        cast: dict[tuple[int, int, tuple[int, ...]], torch.Tensor] = {}
        out: dict[str, Any] = {}
        for name, value in state.items():
            if torch.is_tensor(value) and value.is_floating_point():
                key = (value.data_ptr(), value.storage_offset(), tuple(value.shape))
                if key not in cast:
                    cast[key] = value.to(dtype)
                value = cast[key]
            out[name] = value
        return out

    def set_saved_dtype(self, folder: str) -> None:
        """save_pretrained writes the in-memory model's dtype (fp32) into config.json; the weights
        written are in the job's dtype, so config.json says so (what from_pretrained loads by default)."""
        import json

        from .modeling import torch_dtype

        path = os.path.join(folder, "config.json")
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        name = str(torch_dtype(self.job.model.dtype)).removeprefix("torch.")
        for key in ("dtype", "torch_dtype"):
            if key in config:
                config[key] = name
        if "dtype" not in config and "torch_dtype" not in config:
            config["dtype"] = name
        atomic_write_bytes(path, (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8"))

    def save_merged(self, adapter_state: dict[str, Any], out: str) -> None:
        """LoRA trained, full model wanted: merge the adapter into a fresh full-precision base."""
        from peft import PeftModel

        from .modeling import load_model

        staging = out + "-adapter"
        self.model.save_pretrained(staging, state_dict=adapter_state, selected_adapters=["default"])
        base = load_model(self.job.model.path, self.job.model.dtype, trust_remote_code=self.job.model.trust_remote_code, device="cpu")
        merged = PeftModel.from_pretrained(base, staging).merge_and_unload()
        merged.save_pretrained(out)
        shutil.rmtree(staging, ignore_errors=True)

    # ---- the run ------------------------------------------------------------------------------

    def run(self) -> None:
        job, dist, events = self.job, self.dist, self.events
        started = time.time()
        seed_everything(job.seed)  # same on every rank: identical LoRA init before sharding
        self.load_data()
        self.load_models()
        self.make_optimizer()
        start_step = self.resume()
        if start_step == 0:
            seed_everything(job.seed + dist.rank)  # per-rank dropout / NEFTune streams
        self.ref_train = self.ref_eval = None
        if self.is_dpo and job.dpo is not None and job.dpo.reference == "precomputed":
            # Computed at step 0, before any update: a resumed run finds the file in the job folder.
            self.ref_train = self.precompute_reference(self.train_data, "ref_logps.bin", start_step)
            if self.eval_data is not None:
                self.ref_eval = self.precompute_reference(self.eval_data, "ref_logps.eval.bin", start_step)
        events.emit(
            "start",
            method=job.method,
            world_size=dist.world,
            device=str(self.device) if self.device.type == "cpu" else torch.cuda.get_device_name(self.device),
            dtype=job.model.dtype,
            param_dtype=self.precision.param_dtype,
            compute_dtype=self.precision.compute_dtype,
            params=self.params_total,
            trainable_params=self.params_trainable,
            resumed_from_step=start_step,
            steps=job.steps,
        )
        last: dict[str, Any] = {}
        last_eval: dict[str, Any] | None = None
        for step in range(start_step + 1, job.steps + 1):
            last = self.train_step(step)
            if step % job.log_every_steps == 0 or step == job.steps:
                events.emit("step", **last)
            if self.eval_data is not None and job.eval is not None and step % job.eval.every_steps == 0 and step != job.steps:
                last_eval = self.evaluate(step)
                events.emit("eval", **last_eval)
            stopping = dist.any(self.stop.requested)
            due = job.save_every_steps > 0 and step % job.save_every_steps == 0
            if due or (stopping and step != job.steps):
                self.save_checkpoint(step)
            if stopping and step != job.steps:
                raise EngineError(
                    "interrupted",
                    f"stopped by {self.stop.signal_name or 'a signal'} after step {step} of {job.steps}; checkpoint written",
                    "run the same job again to resume from this step",
                )
        if self.eval_data is not None and start_step < job.steps:
            last_eval = self.evaluate(job.steps)
            events.emit("eval", **last_eval)
        output = self.save_output()
        memory, memory_kind = peak_memory(self.device)
        events.emit(
            "done",
            step=job.steps,
            output=output,
            loss=last.get("loss"),
            eval_loss=None if last_eval is None else last_eval["loss"],
            tokens=self.train_tokens,
            tokens_per_s=self.train_tokens / self.train_seconds if self.train_seconds > 0 else None,
            peak_memory_bytes=memory,
            peak_memory_kind=memory_kind,
            seconds=time.time() - started,
        )


# ---- entry point ------------------------------------------------------------------------------

EXIT_INTERRUPTED = 130


def run(job_dir: str) -> int:
    """`python -m kielo_engine run JOB_DIR`: 0 when done, 130 when interrupted, 1 on an error.
    Every failure ends in one `error` event; a traceback goes to stderr only for `internal`."""
    stop = StopRequest()
    stop.install()
    dist = init_distributed()
    events_path = os.path.join(job_dir, "events.jsonl") if os.path.isdir(job_dir) else None
    events = EventLog(events_path, enabled=dist.is_main)
    try:
        job = load_job(job_dir)
        Trainer(job, dist, events, stop).run()
        return 0
    except EngineError as err:
        fields: dict[str, Any] = {"kind": err.kind, "message": err.message}
        if err.hint:
            fields["hint"] = err.hint
        events.emit("error", **fields)
        if not dist.is_main:
            print(f"rank {dist.rank}: {err.kind}: {err.message}", file=sys.stderr)
        return EXIT_INTERRUPTED if err.kind == "interrupted" else 1
    except torch.OutOfMemoryError as err:
        events.emit(
            "error",
            kind="oom",
            message=f"out of GPU memory: {str(err).splitlines()[0]}",
            hint="use fewer sequences per micro-batch, gradient_checkpointing, LoRA/QLoRA, or a precomputed DPO reference",
        )
        return 1
    except Exception as err:  # noqa: BLE001 — the last line of defence: one event, traceback on stderr
        traceback.print_exc(file=sys.stderr)
        events.emit("error", kind="internal", message=f"{type(err).__name__}: {err}", hint="this is a bug in kielo's engine; the traceback is on stderr")
        return 1
    finally:
        stop.uninstall()
        events.close()
        dist.close()
