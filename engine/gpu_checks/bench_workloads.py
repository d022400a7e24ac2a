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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench_common import REPO, best_fit_decreasing, job_spec, write_compiled, write_json, write_schedule

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
    """One measured process. `micro_batch` counts rows (packs for packed kielo data, pairs for
    DPO); `accum` micro-batches make an optimizer step. kielo: `pack` is the compiler's pack size
    (None: one document per row) and `job` holds job.json fields over bench_common.job_spec's
    defaults — a new engine option is one entry here. Peers: `checkpointing`."""

    family: str
    runner: str  # "kielo", "hf", "hf+liger", "hf+bnb" (GENERATE for the generation benchmark)
    micro_batch: int
    accum: int
    checkpointing: bool = True
    pack: int | None = None
    job: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.family if self.family == GENERATE else f"{self.family}/{self.runner}"


# In the order they run: what matters most first, so that a tight time budget skips the rest.
# The peers' settings are those of the issue's baseline rows: HF + peft on full rows micro-batch 2
# with checkpointing; HF + Liger without checkpointing, micro-batch 4; HF on OASST lengths padded,
# batch 8.
RUNS: tuple[Run, ...] = (
    Run("lora-full", "kielo", 2, 2, pack=2048, job={"gradient_checkpointing": True}),
    Run("lora-full", "hf", 2, 2, checkpointing=True),
    Run("lora-full", "hf+liger", 4, 1, checkpointing=False),
    Run("lora-oasst", "kielo", 2, 2, pack=2048, job={"gradient_checkpointing": True}),
    Run("lora-oasst", "hf", 8, 4, checkpointing=True),
    Run("qlora-full", "kielo", 2, 2, pack=2048, job={"gradient_checkpointing": True}),
    Run("qlora-full", "hf+bnb", 2, 2, checkpointing=True),
    Run("full-1b", "kielo", 2, 2, pack=2048, job={"gradient_checkpointing": True}),
    Run("full-1b", "hf", 2, 2, checkpointing=True),
    Run("dpo-oasst", "kielo", 4, 2, job={"gradient_checkpointing": True, "dpo": {"beta": 0.1, "loss": "sigmoid", "label_smoothing": 0.0, "reference": "adapter-disabled"}}),
    Run("dpo-oasst", "hf", 4, 2, checkpointing=True),
    Run(GENERATE, GENERATE, 1, 1),
    Run("full-7b", "kielo", 2, 2, pack=2048, job={"gradient_checkpointing": True}),
    Run("full-7b", "hf", 2, 2, checkpointing=True),
    Run("lora-oasst", "hf+liger", 16, 2, checkpointing=False),
)
RUNNERS = ("kielo", "hf", "hf+liger", "hf+bnb")


def describe(run: Run, job: dict[str, Any] | None = None, applied: dict[str, Any] | None = None) -> str:
    """The batch settings of a run, for the table; for kielo from its job.json when written, with
    the job fields set over the defaults."""
    method = FAMILIES[run.family].method
    rows = "pairs" if method == "dpo" else ("packs" if run.pack else "rows")
    if run.runner == "kielo":
        checkpointing = (job or {}).get("gradient_checkpointing", run.job.get("gradient_checkpointing", True))
        reference = ((job or {}).get("dpo") or run.job.get("dpo") or {}).get("reference", "adapter-disabled")
    else:
        checkpointing, reference = run.checkpointing, "adapter-disabled"
    parts = [f"{run.micro_batch} {rows} × {run.accum}", "ckpt" if checkpointing else "no ckpt",
             f"packed {run.pack}" if run.runner == "kielo" and run.pack else "padded"]
    if method == "dpo":
        parts.append("ref " + reference.replace("adapter-disabled", "adapter off"))
    shown = ("gradient_checkpointing", "dpo", "dpo.reference")
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
    of its scheduled steps (computed: each micro-batch's rows × its longest row)."""
    rng = np.random.default_rng(seed)
    n = steps * run.accum * run.micro_batch
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
    schedule = group(list(range(n)), steps, run.accum, run.micro_batch)
    write_schedule(os.path.join(job_dir, "schedule.bin"), schedule)
    job = job_spec(job_dir, model_dir, family.method, family.adapter, dtype, steps, run.accum, run.micro_batch, seed,
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
