"""The job spec (`job.json`, docs/formats.md §3), validated again on the engine side.

TypeScript (`src/train/job.ts`) is the source of truth and validates first; the engine checks
again because a job folder can be hand-edited or carried to another host. Plain dataclasses, no
pydantic: the engine depends on torch, transformers, peft and safetensors only. Every error names
the field (as a dotted path) and what was expected.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

from .errors import EngineError

DTYPES = ("bf16", "fp16", "fp32")
METHODS = ("sft", "dpo")
SCHEDULES = ("cosine", "linear", "constant")
DPO_LOSSES = ("sigmoid", "ipo", "hinge")
DPO_REFERENCES = ("adapter-disabled", "frozen-copy", "precomputed")
ADAPTER_TYPES = ("lora", "qlora")
SAVE_KINDS = ("full", "adapter")


@dataclass(frozen=True)
class ModelSpec:
    path: str
    dtype: str
    trust_remote_code: bool
    attn_implementation: str


@dataclass(frozen=True)
class QuantSpec:
    type: str
    block_size: int
    double_quant: bool
    compute_dtype: str


@dataclass(frozen=True)
class AdapterSpec:
    type: str
    r: int
    alpha: float
    dropout: float
    target_modules: str | tuple[str, ...]
    quant: QuantSpec | None


@dataclass(frozen=True)
class OptimSpec:
    lr: float
    weight_decay: float
    betas: tuple[float, float]
    eps: float
    max_grad_norm: float | None
    schedule: str
    warmup_ratio: float


@dataclass(frozen=True)
class DpoSpec:
    beta: float
    loss: str
    label_smoothing: float
    reference: str


@dataclass(frozen=True)
class EvalSpec:
    every_steps: int


@dataclass(frozen=True)
class OutputSpec:
    dir: str
    save: str


@dataclass(frozen=True)
class Job:
    dir: str
    method: str
    seed: int
    model: ModelSpec
    adapter: AdapterSpec | None
    init_adapter: str | None
    optim: OptimSpec
    steps: int
    micro_batches_per_step: int
    gradient_checkpointing: bool | str  # True, False or "auto" (memory.py)
    memory_limit_gib: float | None
    neftune_alpha: float | None
    dpo: DpoSpec | None
    eval: EvalSpec | None
    save_every_steps: int
    keep_checkpoints: int
    output: OutputSpec
    log_every_steps: int

    @property
    def train_data_dir(self) -> str:
        return os.path.join(self.dir, "data", "train")

    @property
    def eval_data_dir(self) -> str:
        return os.path.join(self.dir, "data", "eval")

    @property
    def schedule_path(self) -> str:
        return os.path.join(self.dir, "schedule.bin")

    @property
    def checkpoints_dir(self) -> str:
        return os.path.join(self.dir, "checkpoints")

    @property
    def events_path(self) -> str:
        return os.path.join(self.dir, "events.jsonl")


class _Reader:
    """Reads typed fields out of a JSON object, naming `path.to.field` in every error."""

    def __init__(self, file: str, obj: Any, path: str = ""):
        self.file = file
        self.path = path
        if not isinstance(obj, dict):
            self.fail(path or "(top level)", "an object", obj)
        self.obj: dict[str, Any] = obj

    def fail(self, field: str, expected: str, got: Any) -> None:
        shown = json.dumps(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise EngineError(
            "bad-job",
            f"{self.file}: field `{field}` must be {expected}, got {shown}",
            "re-create the job with `kielo train … --prepare-only`, or fix the field by hand",
        )

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, required: bool = True) -> Any:
        if key not in self.obj:
            if required:
                raise EngineError("bad-job", f"{self.file}: field `{self._name(key)}` is missing")
            return None
        return self.obj[key]

    def string(self, key: str, choices: tuple[str, ...] | None = None) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            self.fail(self._name(key), "a non-empty string", value)
        if choices is not None and value not in choices:
            self.fail(self._name(key), "one of " + ", ".join(f'"{c}"' for c in choices), value)
        return value

    def optional_string(self, key: str) -> str | None:
        value = self._get(key, required=False)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(self._name(key), "null or a non-empty string", value)
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, required=default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            self.fail(self._name(key), "true or false", value)
        return value

    def integer(self, key: str, minimum: int | None = None, default: int | None = None) -> int:
        value = self._get(key, required=default is None)
        if value is None and default is not None:
            return default
        # bool is an int in Python; a JSON `true` here is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(self._name(key), "an integer", value)
        if minimum is not None and value < minimum:
            self.fail(self._name(key), f"an integer ≥ {minimum}", value)
        return value

    def number(
        self,
        key: str,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_min: bool = False,
        default: float | None = None,
    ) -> float:
        value = self._get(key, required=default is None)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(self._name(key), "a finite number", value)
        if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
            self.fail(self._name(key), f"a number {'>' if exclusive_min else '≥'} {minimum}", value)
        if maximum is not None and value > maximum:
            self.fail(self._name(key), f"a number ≤ {maximum}", value)
        return float(value)

    def child(self, key: str, required: bool = True) -> _Reader | None:
        value = self._get(key, required=required)
        if value is None:
            return None
        return _Reader(self.file, value, self._name(key))


def _read_adapter(r: _Reader | None) -> AdapterSpec | None:
    if r is None:
        return None
    kind = r.string("type", ADAPTER_TYPES)
    targets_raw = r._get("target_modules")
    if targets_raw == "all-linear":
        targets: str | tuple[str, ...] = "all-linear"
    elif (
        isinstance(targets_raw, list)
        and targets_raw
        and all(isinstance(t, str) and t for t in targets_raw)
    ):
        targets = tuple(targets_raw)
    else:
        r.fail(r._name("target_modules"), '"all-linear" or a non-empty list of module names', targets_raw)
    quant_r = r.child("quant", required=False)
    quant = None
    if quant_r is not None:
        quant = QuantSpec(
            type=quant_r.string("type", ("nf4",)),
            block_size=quant_r.integer("block_size", minimum=1),
            double_quant=quant_r.boolean("double_quant"),
            compute_dtype=quant_r.string("compute_dtype", DTYPES),
        )
    if kind == "qlora" and quant is None:
        r.fail(r._name("quant"), 'an object when `adapter.type` is "qlora"', None)
    return AdapterSpec(
        type=kind,
        r=r.integer("r", minimum=1),
        alpha=r.number("alpha", minimum=0, exclusive_min=True),
        dropout=r.number("dropout", minimum=0, maximum=1),
        target_modules=targets,
        quant=quant,
    )


def _read_optim(r: _Reader) -> OptimSpec:
    betas = r._get("betas")
    if (
        not isinstance(betas, list)
        or len(betas) != 2
        or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)
    ):
        r.fail(r._name("betas"), "a list of two numbers in [0, 1)", betas)
    max_grad_norm = r._get("max_grad_norm", required=False)
    if max_grad_norm is not None:
        max_grad_norm = r.number("max_grad_norm", minimum=0, exclusive_min=True)
    return OptimSpec(
        lr=r.number("lr", minimum=0),
        weight_decay=r.number("weight_decay", minimum=0),
        betas=(float(betas[0]), float(betas[1])),
        eps=r.number("eps", minimum=0, exclusive_min=True),
        max_grad_norm=max_grad_norm,
        schedule=r.string("schedule", SCHEDULES),
        warmup_ratio=r.number("warmup_ratio", minimum=0, maximum=1),
    )


def _read_checkpointing(r: _Reader) -> bool | str:
    value = r._get("gradient_checkpointing", required=False)
    if value is None:
        return False
    if value == "auto" or isinstance(value, bool):
        return value
    r.fail("gradient_checkpointing", 'true, false or "auto"', value)
    raise AssertionError  # fail() raises


def parse_job(obj: Any, job_dir: str, file: str = "job.json") -> Job:
    """Validates a parsed job.json object; raises EngineError("bad-job") naming the field."""
    r = _Reader(file, obj)
    fmt = r._get("format")
    if fmt != "kielo-job":
        r.fail("format", '"kielo-job"', fmt)
    version = r._get("version")
    if version != 1:
        r.fail("version", "1 (this engine reads job format version 1)", version)
    method = r.string("method", METHODS)

    model_r = r.child("model")
    assert model_r is not None
    model = ModelSpec(
        path=model_r.string("path"),
        dtype=model_r.string("dtype", DTYPES),
        trust_remote_code=model_r.boolean("trust_remote_code", default=False),
        attn_implementation=model_r.optional_string("attn_implementation") or "auto",
    )
    adapter = _read_adapter(r.child("adapter", required=False))
    init_adapter = r.optional_string("init_adapter")
    if init_adapter is not None and adapter is None:
        r.fail("init_adapter", "null when `adapter` is null (an adapter continues only as an adapter)", init_adapter)

    optim_r = r.child("optim")
    assert optim_r is not None
    optim = _read_optim(optim_r)

    dpo_r = r.child("dpo", required=False)
    dpo = None
    if dpo_r is not None:
        dpo = DpoSpec(
            beta=dpo_r.number("beta", minimum=0, exclusive_min=True),
            loss=dpo_r.string("loss", DPO_LOSSES),
            label_smoothing=dpo_r.number("label_smoothing", minimum=0, maximum=0.4999, default=0.0),
            reference=dpo_r.string("reference", DPO_REFERENCES),
        )
    if method == "dpo" and dpo is None:
        r.fail("dpo", 'an object when `method` is "dpo"', None)
    if method == "sft" and dpo is not None:
        r.fail("dpo", 'null when `method` is "sft"', obj.get("dpo"))
    if dpo is not None and dpo.reference == "adapter-disabled" and adapter is None:
        r.fail("dpo.reference", '"frozen-copy" or "precomputed" for full fine-tuning (there is no adapter to disable)', dpo.reference)

    eval_r = r.child("eval", required=False)
    evals = EvalSpec(every_steps=eval_r.integer("every_steps", minimum=1)) if eval_r is not None else None

    output_r = r.child("output")
    assert output_r is not None
    output = OutputSpec(dir=output_r.string("dir"), save=output_r.string("save", SAVE_KINDS))
    if output.save == "adapter" and adapter is None:
        r.fail("output.save", '"full" when `adapter` is null', output.save)
    if model.dtype == "fp16" and adapter is None:
        # Full fine-tuning keeps fp32 master weights, but fp16 compute also needs loss scaling
        # (small gradients underflow fp16's range), which the engine does not do. An fp16 base
        # under a LoRA/QLoRA adapter (fp32 adapter weights) stays allowed, as before.
        r.fail("model.dtype", '"bf16" or "fp32" for full fine-tuning (fp16 only as the base of a LoRA/QLoRA adapter)', model.dtype)
    if output.save == "full" and adapter is not None and adapter.type == "qlora":
        r.fail("output.save", '"adapter" for QLoRA (merge the adapter into full weights with `kielo merge`)', output.save)

    neftune = r._get("neftune_alpha", required=False)
    if neftune is not None:
        neftune = r.number("neftune_alpha", minimum=0, exclusive_min=True)

    job_dir = os.path.abspath(job_dir)
    out_dir = output.dir if os.path.isabs(output.dir) else os.path.join(job_dir, output.dir)
    model_path = model.path if os.path.isabs(model.path) else os.path.join(job_dir, model.path)
    init_path = None
    if init_adapter is not None:
        init_path = init_adapter if os.path.isabs(init_adapter) else os.path.join(job_dir, init_adapter)
    return Job(
        dir=job_dir,
        method=method,
        seed=r.integer("seed", minimum=0),
        model=ModelSpec(model_path, model.dtype, model.trust_remote_code, model.attn_implementation),
        adapter=adapter,
        init_adapter=init_path,
        optim=optim,
        steps=r.integer("steps", minimum=1),
        micro_batches_per_step=r.integer("micro_batches_per_step", minimum=0),  # 0: varies per step
        gradient_checkpointing=_read_checkpointing(r),
        memory_limit_gib=None if r._get("memory_limit_gib", required=False) is None else r.number("memory_limit_gib", minimum=0, exclusive_min=True),
        neftune_alpha=neftune,
        dpo=dpo,
        eval=evals,
        save_every_steps=r.integer("save_every_steps", minimum=0),
        keep_checkpoints=r.integer("keep_checkpoints", minimum=1),
        output=OutputSpec(dir=out_dir, save=output.save),
        log_every_steps=r.integer("log_every_steps", minimum=1, default=1),
    )


def load_job(job_dir: str) -> Job:
    """Reads and validates JOB_DIR/job.json; relative paths in it are relative to JOB_DIR."""
    path = os.path.join(job_dir, "job.json")
    if not os.path.isdir(job_dir):
        raise EngineError("bad-job", f"{job_dir}: no such job folder", "prepare one with `kielo train … --prepare-only --out DIR`")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise EngineError("bad-job", f"{path}: missing (a job folder holds job.json)") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise EngineError("bad-job", f"{path}: line {e.lineno}, column {e.colno}: not valid JSON ({e.msg})") from None
    return parse_job(obj, job_dir, file=path)
