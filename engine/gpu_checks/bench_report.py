"""bench_speed.py's results: one Result per run, its rates from per-step numbers, the ratios kielo ÷
peer, and the table printed last."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench_common import GiB, fmt, timed_rate
from bench_workloads import FAMILIES, Family

PEAK_FLOPS = 989e12  # H100/H200 SXM dense bf16


@dataclass
class Result:
    name: str
    family: str
    runner: str
    model: str
    setup: str
    status: str = "not run"
    message: str = ""
    params: int | None = None
    trainable_params: int | None = None
    tokens_per_s: float | None = None
    mfu: float | None = None
    pairs_per_s: float | None = None
    peak_memory_gib: float | None = None
    kielo_ratio: float | None = None  # kielo ÷ this run (tokens/s, DPO: pairs/s)
    fill: float | None = None
    load_seconds: float | None = None
    wall_seconds: float | None = None
    steps_timed: int = 0
    step_tokens: list[int] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    step_pairs: list[int] = field(default_factory=list)
    job_fields: dict[str, Any] | None = None  # kielo: job.json fields set over bench_common.job_spec's
    engine: dict[str, Any] | None = None  # kielo: what the engine chose (its start event)
    summary: dict[str, Any] | None = None  # the generation benchmark's


def flops_per_token(family: Family, params: int) -> int:
    """4N for LoRA/QLoRA (forward + the input-gradient backward; the frozen base needs no weight
    gradients: the issue's convention), 6N for full fine-tuning."""
    return (6 if family.adapter is None else 4) * params


def fill_in(result: Result, numbers: dict[str, Any], family: Family, base_params: int, cpu: bool) -> None:
    """Rates and memory from a run's per-step numbers (engine events or a peer's result file)."""
    result.status, result.message = numbers["status"], numbers.get("message", "")
    result.params, result.trainable_params = numbers.get("params"), numbers.get("trainable_params")
    result.load_seconds = numbers.get("load_seconds")
    result.step_tokens, result.step_seconds = numbers.get("step_tokens", []), numbers.get("step_seconds", [])
    result.step_pairs = numbers.get("step_pairs", [])
    result.engine = numbers.get("engine") or None
    result.tokens_per_s, _, result.steps_timed = timed_rate(result.step_tokens, result.step_seconds)
    if family.method == "dpo":
        result.pairs_per_s = timed_rate(result.step_pairs, result.step_seconds)[0]
    elif result.tokens_per_s is not None and not cpu:  # MFU against a GPU's peak means nothing on a CPU
        result.mfu = result.tokens_per_s * flops_per_token(family, base_params) / PEAK_FLOPS
    if numbers.get("peak_memory_bytes") is not None:
        result.peak_memory_gib = numbers["peak_memory_bytes"] / GiB
    if numbers.get("step_computed_tokens"):
        result.fill = sum(result.step_tokens) / sum(numbers["step_computed_tokens"])


def set_ratios(results: list[Result]) -> None:
    """On each peer row: kielo's rate ÷ the peer's, same family (pairs/s for DPO)."""
    kielo = {r.family: r for r in results if r.runner == "kielo" and r.name == f"{r.family}/kielo" and r.status == "ok"}
    for r in results:
        k = kielo.get(r.family)
        if r.runner == "kielo" or r.family not in FAMILIES or k is None or r.status != "ok":
            continue
        mine, theirs = (k.pairs_per_s, r.pairs_per_s) if FAMILIES[r.family].method == "dpo" else (k.tokens_per_s, r.tokens_per_s)
        if mine and theirs:
            r.kielo_ratio = mine / theirs


def table(results: list[Result]) -> str:
    # The first column as wide as the longest name: a row's name stays one whole field.
    w = max([len("family/runner"), *(len(r.name) for r in results)])
    header = (f"{'family/runner':<{w}} {'model':<44} {'setup':<38} {'fill':>4} {'real tok/s':>10} {'MFU':>6} "
              f"{'pairs/s':>7} {'peak GiB':>8} {'kielo ÷':>7}  status")
    lines = [header]
    for r in results:
        status = r.status + (f": {r.message[:100]}" if r.message else "")
        if r.summary is not None:
            status += "  " + "; ".join(f"{k} {v}" for k, v in r.summary.items())[:160]
        if r.engine:
            status += "  " + "; ".join(f"{k}: {v}" for k, v in r.engine.items() if k != "layout")[:200]
        ratio = "" if r.kielo_ratio is None else f"{r.kielo_ratio:.2f}×"
        mfu = "-" if r.mfu is None else f"{r.mfu:.1%}"
        fill = "-" if r.fill is None else f"{r.fill:.0%}"
        lines.append(
            f"{r.name:<{w}} {r.model[:44]:<44} {r.setup[:38]:<38} {fill:>4} {fmt(r.tokens_per_s, ',.0f'):>10} "
            f"{mfu:>6} {fmt(r.pairs_per_s, '.2f'):>7} {fmt(r.peak_memory_gib, '.1f'):>8} {ratio:>7}  {status}"
        )
    return "\n".join(lines)


def report(result: Result) -> None:
    """One line as a run ends."""
    print(f"   {result.name}: {result.status} in {fmt(result.wall_seconds, '.0f')}s: {fmt(result.tokens_per_s, ',.0f')} real tokens/s"
          + (f", {result.pairs_per_s:.2f} pairs/s" if result.pairs_per_s else "")
          + f", peak {fmt(result.peak_memory_gib, '.2f')} GiB {result.message}", flush=True)
