"""The training loop: SFT and DPO from a job folder, readable top to bottom.

    run(job_dir)
      load and check the job, data and schedule            (job.py, data.py)
      load the model, add LoRA/QLoRA, NEFTune, the DPO reference
      choose the attention and the batch layout             (forward.py)
      shard with FSDP2 under torchrun                       (distributed.py)
      AdamW + warmup/cosine|linear|constant schedule        (optim.py)
      resume from the last complete checkpoint, any world size (checkpoint.py, DCP)
      for each optimizer step of the schedule:
          forward/backward every micro-batch of this rank through the objective
          (sft.py: Σ token NLL / trained tokens of the whole step; dpo.py: Σ pair loss / pairs)
          clip, step, log; eval / checkpoint when due; stop cleanly on SIGINT/SIGTERM (stop.py)
      write the model or adapter in Hugging Face format     (outputs.py, precision.py)

The objectives only see `token_logps(model, batch)`: the log-probabilities of the trained tokens
(forward.py), computed in the job's compute dtype (autocast for fp32 master weights,
precision.py) and reduced in fp32. Per-step sums stay on the device until the one all-reduce at
the end of the step, so a step synchronises with the host once.
"""

from __future__ import annotations

import copy
import math
import os
import random
import resource
import sys
import time
import traceback
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from . import checkpoint, lora_fused, memory, profiling
from .data import CompiledData, ModelBatch, Schedule, eval_batches, read_schedule
from .distributed import Dist, init_distributed, set_gradient_sync, shard_model
from .dpo import DpoObjective, DpoReference
from .errors import EngineError
from .events import EventLog
from .export import save_trained_model
from .forward import VARLEN_ATTENTION, base_model, choose_attention, decoder_and_head, register_varlen_attention, token_logps
from .job import Job, load_job
from .kernels import apply_fused_kernels
from .lora import trainable_parameter_count
from .modeling import read_json, torch_dtype
from .optim import make_optimizer, make_scheduler
from .policy import load_policy
from .precision import precision_of, residual_in_compute_dtype
from .rank_failures import RankFailures
from .reporting import Reporters
from .sft import SftObjective
from .stop import StopRequest

# ---- seeds, memory -----------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def peak_memory(device: torch.device) -> tuple[int, str]:
    """GPU: torch.cuda.max_memory_allocated (tensors only). CPU: the process's peak RSS."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda-max-memory-allocated"
    # Linux reports ru_maxrss in KiB.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "cpu-max-rss"


class Trainer:
    def __init__(self, job: Job, dist: Dist, events: EventLog, stop: StopRequest):
        self.job, self.dist, self.events, self.stop = job, dist, events, stop
        self.neftune = None
        self.device = dist.device
        self.train_seconds = 0.0
        self.train_tokens = 0
        self.precision = precision_of(job)
        # One process computes in bf16 through autocast; under torchrun FSDP2's mixed-precision
        # policy casts the shards instead (distributed.shard_model), so no autocast there.
        self.autocast_dtype: torch.dtype | None = None
        if self.precision.master_weights and not dist.enabled:
            self.autocast_dtype = torch_dtype(self.precision.compute_dtype)

    def token_logps(self, model: nn.Module, batch: ModelBatch) -> Tensor:
        """The forward pass in the compute dtype: the policy, its frozen copy and every reference
        pass go through here, so reference and policy compute alike (DPO loss ln 2 at step 1)."""
        autocast = nullcontext() if self.autocast_dtype is None else torch.autocast(self.device.type, dtype=self.autocast_dtype)
        documents = nullcontext() if self.neftune is None else self.neftune.documents(batch.inputs.get("position_ids"))
        with autocast, documents:
            return token_logps(model, batch.inputs, batch.targets)

    def batch(self, data: CompiledData, seqs: list[int]) -> ModelBatch:
        return data.model_batch(seqs, flat=self.flat).to(self.device)

    # ---- setup --------------------------------------------------------------------------------

    def load_data(self) -> None:
        job = self.job
        self.train_data = CompiledData(job.train_data_dir)
        want = "preference" if job.method == "dpo" else "sft"
        if self.train_data.kind != want:
            raise EngineError("bad-job", f"{job.train_data_dir}: method \"{job.method}\" needs data of kind \"{want}\", the manifest says \"{self.train_data.kind}\"")
        self.schedule: Schedule = read_schedule(job.schedule_path, self.train_data.sequences)
        if len(self.schedule.steps) != job.steps or self.schedule.micro_batches_per_step != job.micro_batches_per_step:
            raise EngineError(
                "bad-job",
                f"{job.schedule_path}: holds {len(self.schedule.steps)} steps of {self.schedule.micro_batches_per_step} micro-batches, "
                f"but job.json says `steps` {job.steps} and `micro_batches_per_step` {job.micro_batches_per_step}",
            )
        uneven = [i + 1 for i, step in enumerate(self.schedule.steps) if len(step) % self.dist.world != 0]
        if uneven:
            raise EngineError(
                "bad-job",
                f"{job.schedule_path}: step {uneven[0]} has {len(self.schedule.steps[uneven[0] - 1])} micro-batches, not a multiple of the {self.dist.world} processes",
                "every rank runs the same number of micro-batches: prepare the job for this number of GPUs",
            )
        self.eval_data = None
        if os.path.isdir(job.eval_data_dir):
            self.eval_data = CompiledData(job.eval_data_dir)
            if self.eval_data.kind != want:
                raise EngineError("bad-job", f"{job.eval_data_dir}: needs data of kind \"{want}\", the manifest says \"{self.eval_data.kind}\"")
        elif job.eval is not None:
            raise EngineError("bad-job", f"job.json: field `eval` is set but {job.eval_data_dir} does not exist")

    def choose_attention(self) -> str:
        config = read_json(os.path.join(self.job.model.path, "config.json")) if os.path.isfile(os.path.join(self.job.model.path, "config.json")) else {}
        try:
            attention, self.flat, self.attention_note = choose_attention(
                self.job.model.attn_implementation, config, self.device, torch_dtype(self.precision.compute_dtype)
            )
        except ValueError as err:
            raise EngineError("bad-job", f"job.json: field `model.attn_implementation`: {err}", "use \"auto\" or \"sdpa\"") from None
        if attention == VARLEN_ATTENTION:
            register_varlen_attention()
        return attention

    def load_models(self) -> None:
        job = self.job
        attention = self.choose_attention()
        self.model = load_policy(job, self.device, attention)
        vocab = self.model.get_input_embeddings().num_embeddings
        self.train_data.check_vocab(vocab)
        if self.eval_data is not None:
            self.eval_data.check_vocab(vocab)
        self.kernels_note = apply_fused_kernels(self.model, self.device)
        if self.autocast_dtype is not None:
            residual_in_compute_dtype(self.model, self.autocast_dtype)
        if job.adapter is not None:
            lora_fused.install(self.model)
        self.model.config.use_cache = False
        self.checkpointing_note = self.plan_checkpointing()
        frozen: nn.Module | None = None
        if job.dpo is not None and job.dpo.reference == "frozen-copy":
            frozen = copy.deepcopy(self.model).eval()
            for p in frozen.parameters():
                p.requires_grad_(False)
        # Counts packed NF4 weights by their element count, so QLoRA reports the model's size.
        self.params_trainable, self.params_total = trainable_parameter_count(self.model)
        if self.dist.enabled:
            compute = torch_dtype(self.precision.compute_dtype) if self.precision.master_weights else None
            shard_model(self.model, self.dist, compute_dtype=compute)
            if frozen is not None:
                shard_model(frozen, self.dist, compute_dtype=compute)
        self.model.train()
        self.neftune = None
        if job.neftune_alpha is not None:
            from .neftune import attach_neftune

            # Flat batches hold a whole micro-batch in one row: NEFTune's bound uses each
            # document's own length there (neftune.py), not the length of that row.
            self.neftune = attach_neftune(self.model, job.neftune_alpha, per_document=self.flat)
        if job.dpo is not None:
            self.reference = DpoReference(job.dpo.reference, self.token_logps, frozen)
            self.objective: SftObjective | DpoObjective = DpoObjective(job.dpo, self.token_logps, self.dist.world, self.reference)
        else:
            self.objective = SftObjective(self.token_logps, self.dist.world)

    def plan_checkpointing(self) -> str:
        """Which decoder layers recompute their forward in backward (job `gradient_checkpointing`)."""
        setting = self.job.gradient_checkpointing
        layers = len(memory.decoder_layers(self.model))
        budget = memory.memory_budget(self.device, self.job.memory_limit_gib) if self.device.type == "cuda" else None
        if setting is True or (setting == "auto" and self.dist.enabled):
            memory.set_checkpointed_layers(self.model, layers)
            return f"all {layers} layers" + (" (auto: under torchrun)" if setting == "auto" else "")
        if setting is False or self.device.type != "cuda":
            return "off" + (" (auto: not on a GPU)" if setting == "auto" else "")
        data = self.train_data
        largest = max(data.batch_positions(mb, flat=self.flat) for step in self.schedule.steps for mb in step if mb)
        parts = decoder_and_head(self.model)
        autocast = nullcontext() if self.autocast_dtype is None else torch.autocast(self.device.type, dtype=self.autocast_dtype)
        with autocast:
            result = memory.auto_plan(
                self.model if parts is None else parts[0], self.model,
                probe_ids=np.asarray(data.tokens[: memory.PROBE_TOKENS], dtype=np.int64),
                largest_micro_batch_tokens=largest, flat=self.flat, device=self.device,
                layer_input_bytes_per_token=base_model(self.model).config.hidden_size * torch_dtype(self.precision.compute_dtype).itemsize,
                budget_bytes=budget,
            )
        memory.set_checkpointed_layers(self.model, result.layers)
        return "auto: " + result.describe()

    def make_optimizer(self) -> None:
        self.optimizer = make_optimizer(self.model, self.job, self.device)
        self.scheduler = make_scheduler(self.optimizer, self.job)

    def resume(self) -> int:
        """Loads the last complete checkpoint, whatever number of processes wrote it (DCP reshards)."""
        ckpt_dir = self.job.checkpoints_dir
        if self.dist.is_main:
            checkpoint.remove_partial(ckpt_dir)
            checkpoint.warn_ignored(ckpt_dir)
        self.dist.barrier()
        latest = checkpoint.latest_checkpoint(ckpt_dir)
        if latest is None:
            return 0
        _, path = latest
        step, rng_restored = checkpoint.load(path, self.model, self.optimizer, self.scheduler, self.dist.rank, trainable_only=self.job.adapter is not None)
        if not rng_restored:  # resumed on more processes than wrote the checkpoint: new ranks get fresh streams
            seed_everything(self.job.seed + 1000 * self.dist.rank + step)
        return step

    def precompute_reference(self, start_step: int) -> None:
        """DPO with `precomputed` reference: one pass of the initial policy before step 1."""
        for split, data, name in (("train", self.train_data, "ref_logps.bin"), ("eval", self.eval_data, "ref_logps.eval.bin")):
            if data is None:
                continue
            self.reference.stored[split] = self.reference.precompute(
                self.model, data, os.path.join(self.job.dir, name), self.unscheduled_batches(data),
                self.dist.sum, self.dist.is_main, start_step, self.job.checkpoints_dir,
            )
            self.dist.barrier()

    def unscheduled_batches(self, data: CompiledData) -> list[tuple[ModelBatch, bool]]:
        """This rank's share of held-out or reference batches (no schedule: in order). Under FSDP
        every rank must run the same number of forwards, so short ranks repeat a batch, not real."""
        batches = eval_batches(data, self.schedule.largest_micro_batch())
        W, r = self.dist.world, self.dist.rank
        mine = []
        for i in range(math.ceil(len(batches) / W)):
            k = i * W + r
            mine.append((batches[k], True) if k < len(batches) else (batches[0], False))
        return [(self.batch(data, seqs), real) for seqs, real in mine]

    # ---- one optimizer step -------------------------------------------------------------------

    def train_step(self, step: int) -> dict[str, Any]:
        started = time.perf_counter()
        lora_fused.clear_weight_cache()  # casts made by held-out or reference passes, a resumed load
        objective = self.objective
        step_sequences = [s for mb in self.schedule.steps[step - 1] for s in mb]
        mine = self.schedule.for_rank(step, self.dist.rank, self.dist.world)
        # The normaliser comes from the schedule: every micro-batch of the step, every rank.
        denominator = objective.step_denominator(self.train_data, step_sequences)
        lr = self.optimizer.param_groups[0]["lr"]
        sums = torch.zeros(len(objective.sums), dtype=torch.float64, device=self.device)
        tokens = 0
        for i, seqs in enumerate(mine):
            set_gradient_sync(self.model, i == len(mine) - 1, self.dist)
            if not seqs:
                if self.dist.enabled:
                    # FSDP needs every rank in every forward/backward: run one with weight 0.
                    objective.train_micro_batch(self.model, self.batch(self.train_data, [0]), denominator, weight=0.0)
                continue
            batch = self.batch(self.train_data, seqs)
            sums += objective.train_micro_batch(self.model, batch, denominator)
            tokens += batch.tokens
        # Clip and update before reading anything back: the loss sums and the gradient norm come to
        # the host in one copy after the optimizer's kernels are queued, so the GPU waits for the
        # host once per step, not three times. A non-finite loss or norm still stops the run (the
        # update it made is never saved: no checkpoint is written after an error).
        max_norm = self.job.optim.max_grad_norm if self.job.optim.max_grad_norm is not None else float("inf")
        params = [p for p in self.model.parameters() if p.requires_grad]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        if hasattr(grad_norm, "full_tensor"):
            grad_norm = grad_norm.full_tensor()
        self.optimizer.step()
        lora_fused.clear_weight_cache()  # the adapter's weights changed: cast them again
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        *local, grad_norm_value = torch.cat([sums, grad_norm.detach().reshape(1).to(sums)]).tolist()
        reduced = self.dist.sum(local + [float(tokens)])
        totals = dict(zip(objective.sums, reduced))
        tokens = int(reduced[-1])
        fields = objective.step_fields(totals, denominator)
        loss = fields["loss"]
        if not math.isfinite(loss):
            raise EngineError(
                "nan",
                f"the loss is {loss} at step {step}",
                "lower the learning rate, train in bf16 rather than fp16, or look for broken rows in the data",
            )
        if not math.isfinite(grad_norm_value):
            raise EngineError("nan", f"the gradient norm is {grad_norm_value} at step {step} (loss {loss:.6g})", "lower the learning rate, or train in bf16 rather than fp16")
        seconds = time.perf_counter() - started
        self.train_seconds += seconds
        self.train_tokens += tokens
        return {
            "step": step,
            **fields,
            "lr": lr,
            "grad_norm": grad_norm_value,
            "tokens": tokens,
            "tokens_per_s": tokens / seconds if seconds > 0 else None,
        }

    # ---- evaluation ---------------------------------------------------------------------------

    def evaluate(self, step: int) -> dict[str, Any]:
        data = self.eval_data
        assert data is not None
        self.model.eval()
        sums = torch.zeros(len(self.objective.sums), dtype=torch.float64, device=self.device)
        with torch.no_grad():
            for batch, real in self.unscheduled_batches(data):
                values = self.objective.eval_batch(self.model, batch)
                if real:
                    sums += values
        self.model.train()
        totals = dict(zip(self.objective.sums, self.dist.sum(sums.tolist())))
        return {"step": step, **self.objective.eval_fields(totals)}

    # ---- checkpoints and output ---------------------------------------------------------------

    def save_checkpoint(self, step: int) -> None:
        """Every rank writes its own shards (checkpoint.py); rank 0 marks the folder complete once
        all have, so no rank ever holds the whole state."""
        ckpt_dir = self.job.checkpoints_dir
        if self.dist.is_main:
            checkpoint.begin(ckpt_dir, step)
        self.dist.barrier()
        tmp = checkpoint.temp_dir(ckpt_dir, step)
        checkpoint.save(tmp, step, self.dist.world, self.model, self.optimizer, self.scheduler, self.dist.rank, trainable_only=self.job.adapter is not None)
        self.dist.barrier()
        if self.dist.is_main:
            final = checkpoint.commit(ckpt_dir, step, self.job.keep_checkpoints)
            self.events.emit("checkpoint", step=step, path=final)
        self.dist.barrier()

    def save_output(self) -> str:
        if self.neftune is not None:
            self.neftune.remove()
            self.neftune = None
        save_trained_model(self.model, self.job, self.precision, is_main=self.dist.is_main)
        self.dist.barrier()
        return self.job.output.dir

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
        if job.dpo is not None and job.dpo.reference == "precomputed":
            # Computed at step 0, before any update: a resumed run finds the files in the job folder.
            self.precompute_reference(start_step)
        events.emit(
            "start",
            method=job.method,
            world_size=dist.world,
            device=str(self.device) if self.device.type == "cpu" else torch.cuda.get_device_name(self.device),
            dtype=job.model.dtype,
            param_dtype=self.precision.param_dtype,
            compute_dtype=self.precision.compute_dtype,
            attention=self.attention_note,
            layout="flat" if self.flat else "rows",
            gradient_checkpointing=self.checkpointing_note,
            kernels=self.kernels_note,
            params=self.params_total,
            trainable_params=self.params_trainable,
            resumed_from_step=start_step,
            steps=job.steps,
        )
        last: dict[str, Any] = {}
        last_eval: dict[str, Any] | None = None
        for step in range(start_step + 1, job.steps + 1):
            with profiling.maybe_profile(step, self.device, job.dir):
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
    failures = RankFailures(dist, events, events_path=events_path)
    reporters: Reporters | None = None
    try:
        job = load_job(job_dir)
        if dist.is_main:
            reporters = Reporters(job_dir, os.path.basename(os.path.abspath(job_dir)))
            events.listeners.append(reporters.listen)
        Trainer(job, dist, events, stop).run()
        return 0
    except EngineError as err:
        fields: dict[str, Any] = {"kind": err.kind, "message": err.message}
        if err.hint:
            fields["hint"] = err.hint
        failures.report(fields)
        return EXIT_INTERRUPTED if err.kind == "interrupted" else 1
    except torch.OutOfMemoryError as err:
        failures.report(dict(
            kind="oom",
            message=f"out of GPU memory: {str(err).splitlines()[0]}",
            hint="use fewer tokens per micro-batch, gradient_checkpointing, LoRA/QLoRA, or a precomputed DPO reference",
        ))
        return 1
    except Exception as err:  # noqa: BLE001 — the last line of defence: one event, traceback on stderr
        traceback.print_exc(file=sys.stderr)
        failures.report(dict(kind="internal", message=f"{type(err).__name__}: {err}", hint="this is a bug in kielo's engine; the traceback is on stderr"))
        return 1
    finally:
        failures.ended()
        if reporters is not None:
            reporters.close()
        stop.uninstall()
        events.close()
        dist.close()
