"""What bench_speed.py measures: the families (LoRA, QLoRA, full fine-tuning, DPO on which model and
data), the runs of each (kielo and its peers, with their batch settings), and the data every run
gets: the same lengths for kielo and the peers, laid out as each would be.

Data shapes:
- `full`: rows of seq_len (2,048) random token ids, every token but the first trained.
- `oasst`: the real lengths of the oasst1 validation prompt→reply pairs (fixtures/bench/
  oasst1-validation-lengths.json, made by scripts/gpu/oasst-lengths.ts with kielo's compiler), the
  prompt untrained; documents longer than seq_len are left out, as `kielo data compile --pack`
  drops them. kielo gets them as its compiler packs them (best-fit-decreasing over the whole set,
  packs shuffled); the peers get them in a shuffled order, padded to each batch's longest.
- `oasst` for DPO: the lengths of the oasst1 ranked reply pairs (prompt, chosen, rejected), the
  same pairs in the same order for kielo and the peer (preference data is never packed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from bench_common import REPO, best_fit_decreasing, job_spec, split_by_tokens, write_compiled, write_json, write_schedule

OASST_FIXTURE = os.path.join(REPO, "fixtures", "bench", "oasst1-validation-lengths.json")
# Not a training family: engine/gpu_checks/bench_generate.py, run where it stands in RUNS.
GENERATE = "generate"


@dataclass(frozen=True)
class Family:
    name: str
    model: str  # "7b" (Llama-2-7B shapes), "1b" (TinyLlama-1.1B shapes), "7b-full" (the Llama-2-7B layers that fit)
    method: str  # "sft" | "dpo"
    adapter: str | None  # "lora" | "qlora" | None (full fine-tuning)
    data: str  # "full" | "oasst"


FAMILIES = {f.name: f for f in (
    Family("lora-full", "7b", "sft", "lora", "full"),
    Family("lora-oasst", "7b", "sft", "lora", "oasst"),
    Family("qlora-full", "7b", "sft", "qlora", "full"),
    Family("full-1b", "1b", "sft", None, "full"),
    Family("full-7b", "7b-full", "sft", None, "full"),
    Family("dpo-oasst", "7b", "dpo", "lora", "oasst"),
)}


@dataclass(frozen=True)
class Run:
    """One measured process. An optimizer step takes `micro_batch` × `accum` sequences (rows; packs
    for packed kielo data; pairs for DPO) — the same number for every run of a family, so that kielo
    and the peers see the same documents step by step. Peers: `accum` micro-batches of `micro_batch`
    rows, padded, `checkpointing` on or off. kielo: `tokens` splits each step's sequences into
    micro-batches of at most that many tokens (`training.micro_batch_tokens`; None: `accum`
    micro-batches of `micro_batch`), `pack` packs documents as `kielo data compile --pack` (None:
    one document per sequence), and `job` holds job.json fields over bench_common.job_spec's
    defaults (dots for nested fields) — a new engine option is one entry here."""

    family: str
    runner: str  # "kielo", "hf", "hf+liger", "hf+bnb" (GENERATE for the generation benchmark)
    micro_batch: int
    accum: int
    checkpointing: bool = True
    pack: int | None = None
    tokens: int | None = None
    job: dict[str, Any] = field(default_factory=dict)
    # A second kielo row of a family (another setting); ratios use the row without a variant.
    variant: str = ""

    @property
    def name(self) -> str:
        if self.family == GENERATE:
            return self.family
        # No space in a name: the table's first column is the row's name, whole.
        return f"{self.family}/{self.runner}" + (f":{self.variant}" if self.variant else "")

    @property
    def per_step(self) -> int:
        return self.micro_batch * self.accum

    def tiny(self, seq_len: int, full_seq_len: int) -> Run:
        """--tiny: a quarter of the sequences per step (at least one), no accumulation where the
        micro-batch can hold them, pack size and token budget scaled to the sequence length."""
        per_step = max(1, self.per_step // 4)
        micro = min(self.micro_batch, per_step)
        return replace(self, micro_batch=micro, accum=per_step // micro,
                       pack=self.pack and max(seq_len, self.pack * seq_len // full_seq_len),
                       tokens=self.tokens and max(seq_len, self.tokens * seq_len // full_seq_len))


# kielo as `kielo train` writes a job today: attention and checkpointing chosen by the engine.
KIELO = {"model.attn_implementation": "auto", "gradient_checkpointing": "auto"}

# In the order they run: what matters most first, so that a tight time budget skips the rest.
# The peers' settings are those of the issue's baseline rows: HF + peft on full rows micro-batch 2
# with checkpointing; HF + Liger without checkpointing, micro-batch 4; HF on OASST lengths padded,
# batch 8. kielo takes each step's sequences in micro-batches of at most 8,192 or 16,384 tokens.
RUNS: tuple[Run, ...] = (
    Run("lora-full", "kielo", 4, 1, tokens=8192, job=KIELO),
    Run("lora-full", "hf", 2, 2, checkpointing=True),
    Run("lora-full", "hf+liger", 4, 1, checkpointing=False),
    Run("lora-oasst", "kielo", 32, 1, tokens=16384, job=KIELO),
    Run("lora-oasst", "hf", 8, 4, checkpointing=True),
    Run("qlora-full", "kielo", 4, 1, tokens=8192, job=KIELO),
    # QLoRA's point is memory: the same run held to 8 GiB, micro-batches of two 2,048-token rows
    # (every layer checkpointed; one row per micro-batch leaves the GPU waiting on the host).
    Run("qlora-full", "kielo", 4, 1, tokens=4096, job={**KIELO, "memory_limit_gib": 8}, variant="8GiB"),
    Run("qlora-full", "hf+bnb", 2, 2, checkpointing=True),
    # Full fine-tuning steps of 16 rows (32,768 tokens): at 4 rows the optimizer's pass over the
    # fp32 states and the step's host wait are a large share of a step (kielo on an H100, 2026-12-06:
    # 50,168 tokens/s at 4 rows, 61,265 at 16; docs/measurements/2026-12-06-h100-bench-speed-3.txt).
    Run("full-1b", "kielo", 16, 1, tokens=16384, job=KIELO),
    Run("full-1b", "hf", 2, 8, checkpointing=True),
    Run("dpo-oasst", "kielo", 8, 1, tokens=16384, job={**KIELO, "dpo.reference": "adapter-disabled"}),
    Run("dpo-oasst", "hf", 4, 2, checkpointing=True),
    # Reference log-probs computed once before step 1 (their pass is outside the timed steps).
    Run("dpo-oasst", "kielo", 8, 1, tokens=16384, job={**KIELO, "dpo.reference": "precomputed"}, variant="precomputed-ref"),
    # "At no more memory": the same, held to the padded HF loop's peak (17.9 GiB measured on an H100).
    Run("dpo-oasst", "kielo", 8, 1, tokens=16384, job={**KIELO, "dpo.reference": "precomputed", "memory_limit_gib": 18}, variant="precomputed-ref:18GiB"),
    Run(GENERATE, GENERATE, 1, 1),
    Run("full-7b", "kielo", 4, 1, tokens=8192, job=KIELO),
    Run("full-7b", "hf", 2, 2, checkpointing=True),
    Run("lora-oasst", "hf+liger", 16, 2, checkpointing=False),
)
RUNNERS = ("kielo", "hf", "hf+liger", "hf+bnb")


def describe(run: Run, job: dict[str, Any] | None = None, applied: dict[str, Any] | None = None, engine: dict[str, Any] | None = None) -> str:
    """The batch settings of a run, for the table; for kielo from its job.json when written, with
    the job fields set over the defaults and what the engine chose (its `start` event)."""
    method = FAMILIES[run.family].method
    unit = "pairs" if method == "dpo" else ("packs" if run.pack else "rows")
    if run.runner != "kielo":
        parts = [f"{run.micro_batch} {unit} × {run.accum}", "ckpt" if run.checkpointing else "no ckpt", "padded"]
        return ", ".join(parts + (["ref adapter off"] if method == "dpo" else []))
    job = job or {}
    batches = f"{run.per_step} {unit} ≤{run.tokens} tok" if run.tokens else f"{run.micro_batch} {unit} × {run.accum}"
    parts = [batches] + ([f"packed {run.pack}"] if run.pack else [])
    checkpointing = job.get("gradient_checkpointing", run.job.get("gradient_checkpointing"))
    parts.append(f"ckpt {checkpointing}" if not isinstance(checkpointing, bool) else ("ckpt" if checkpointing else "no ckpt"))
    if engine and engine.get("layout"):
        parts.append(engine["layout"])
    if method == "dpo":
        reference = (job.get("dpo") or {}).get("reference", "adapter-disabled")
        parts.append("ref " + reference.replace("adapter-disabled", "adapter off"))
    shown = set(KIELO) | {"dpo.reference"}
    parts += [f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in (applied or {}).items() if k not in shown]
    return ", ".join(parts)


# ---- the lengths ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lengths:
    """Per family's data shape: SFT documents (tokens, untrained prefix) and DPO pairs (prompt,
    chosen, rejected), longest first left out above seq_len."""

    sft: list[tuple[int, int]]
    dpo: list[tuple[int, int, int]]
    dropped_sft: int
    dropped_dpo: int
    stats: dict[str, Any]


def load_oasst(seq_len: int, path: str = OASST_FIXTURE) -> Lengths:
    with open(path, encoding="utf-8") as f:
        fixture = json.load(f)
    sft = [(int(n), int(p)) for n, p in fixture["sft"]["pairs"]]
    dpo = [(int(p), int(c), int(r)) for p, c, r in fixture["dpo"]["pairs"]]
    kept_sft = [d for d in sft if d[0] <= seq_len]
    kept_dpo = [d for d in dpo if d[0] + max(d[1], d[2]) <= seq_len]
    if not kept_sft or not kept_dpo:
        raise ValueError(f"{path}: no pair fits {seq_len} tokens")
    return Lengths(kept_sft, kept_dpo, len(sft) - len(kept_sft), len(dpo) - len(kept_dpo),
                   {"sft": fixture["sft"]["stats"], "dpo": fixture["dpo"]["stats"]})


def take(items: list[Any], n: int, rng: np.random.Generator) -> list[Any]:
    """n items: the list shuffled, and shuffled again each time round when n is larger."""
    out: list[Any] = []
    while len(out) < n:
        out += [items[i] for i in rng.permutation(len(items))]
    return out[:n]


def group(items: list[Any], steps: int, accum: int, micro_batch: int) -> list[list[list[Any]]]:
    it = iter(items)
    return [[[next(it) for _ in range(micro_batch)] for _ in range(accum)] for _ in range(steps)]


def peer_steps(run: Run, family: Family, lengths: Lengths | None, steps: int, seq_len: int, seed: int) -> list[list[list[Any]]]:
    """steps → micro-batches → rows: (tokens, prompt) for SFT, (prompt, chosen, rejected) for DPO."""
    n = steps * run.accum * run.micro_batch
    rng = np.random.default_rng(seed)
    if family.method == "dpo":
        assert lengths is not None
        return group(take(lengths.dpo, n, rng), steps, run.accum, run.micro_batch)
    if family.data == "full":
        return group([(seq_len, 1)] * n, steps, run.accum, run.micro_batch)
    assert lengths is not None
    return group(take(lengths.sft, n, rng), steps, run.accum, run.micro_batch)


def write_kielo_job(job_dir: str, run: Run, family: Family, lengths: Lengths | None, steps: int, seq_len: int,
                    model_dir: str, dtype: str, vocab: int, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """The job folder (docs/formats.md §2–§3) of a kielo run; returns the real and computed tokens
    of its scheduled steps (computed: each micro-batch's rows × its longest row, what padded rows
    cost; flat batches compute only the real tokens), the job and the job fields set."""
    rng = np.random.default_rng(seed)
    n = steps * run.per_step
    packs: list[int] | None = None
    if family.method == "dpo":
        assert lengths is not None
        pairs = take(lengths.dpo, n, np.random.default_rng(seed))  # the peer's pairs, in its order
        docs = [doc for p, c, r in pairs for doc in ((p + c, p), (p + r, p))]
        rows = [max(p + c, p + r) for p, c, r in pairs]
        row_tokens = [2 * p + c + r for p, c, r in pairs]
        kind = "preference"
    else:
        if family.data == "full":
            units = [[(seq_len, 1)] for _ in range(n)]
        elif run.pack:
            assert lengths is not None
            pool = list(lengths.sft)
            while True:  # the whole set packed as the compiler packs it; repeated until there are enough packs
                units = [[pool[d] for d in pack] for pack in best_fit_decreasing([t for t, _ in pool], run.pack)]
                if len(units) >= n:
                    break
                pool += lengths.sft
            units = [units[i] for i in rng.permutation(len(units))]
        else:
            assert lengths is not None
            units = [[d] for d in take(lengths.sft, n, np.random.default_rng(seed))]
        docs = [doc for unit in units for doc in unit]
        packs = [len(unit) for unit in units] if run.pack else None
        rows = [sum(t for t, _ in unit) for unit in units]
        row_tokens = rows
        kind = "sft"
    manifest = write_compiled(os.path.join(job_dir, "data", "train"), docs, packs, kind, run.pack or seq_len, vocab, rng, "bench_speed.py")
    if run.tokens:
        schedule = [split_by_tokens(list(range(k * run.per_step, (k + 1) * run.per_step)), row_tokens, run.tokens) for k in range(steps)]
    else:
        schedule = group(list(range(n)), steps, run.accum, run.micro_batch)
    per_step = write_schedule(os.path.join(job_dir, "schedule.bin"), schedule, variable=bool(run.tokens))
    job = job_spec(job_dir, model_dir, family.method, family.adapter, dtype, steps, per_step, run.micro_batch, seed,
                   "engine/gpu_checks/bench_speed.py", manifest["source"]["sha256"])
    applied = {key: value for key, value in {**run.job, **overrides}.items() if set_field(job, key, value)}
    write_json(os.path.join(job_dir, "job.json"), job)
    real = sum(row_tokens[s] for step in schedule for micro in step for s in micro)
    width = 2 if kind == "preference" else 1  # a pair is two rows
    computed = sum(width * len(micro) * max(rows[s] for s in micro) for step in schedule for micro in step)
    return {"real_tokens": real, "computed_tokens": computed, "documents": len(docs), "job": job, "job_fields": applied}


def set_field(job: dict[str, Any], dotted: str, value: Any) -> bool:
    """job["a"]["b"] = value for "a.b". A field under a parent that this job does not have (`dpo.*`
    in an SFT job, whose `dpo` is null) is not set: False."""
    *parents, last = dotted.split(".")
    node = job
    for key in parents:
        if not isinstance(node.get(key), dict):
            return False
        node = node[key]
    node[last] = value
    return True
