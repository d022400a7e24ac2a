"""One training step under torch.profiler, when `KIELO_PROFILE` names a folder.

    KIELO_PROFILE=/tmp/prof python -m kielo_engine run JOB_DIR     # profiles step 2
    KIELO_PROFILE_STEP=5 …                                          # another step

Writes `profile-<job>-step<N>.txt` into that folder: the step's wall time against the time the GPU
spent in kernels (a GPU idle for a large share of the step is waiting on the host: launches,
synchronisations, data), the kernel time by kind (matmuls, attention, Triton, element-wise,
copies), the kernels that took longest, the host-side operators that took longest, and where the
host waited for the GPU (torch's sync debug mode: the Python lines that synchronised). The
profiled step runs slower than the others (the profiler records every launch): read its shares,
not its speed. Step 1 is never profiled by default because it includes one-time work
(allocator growth, kernel autotuning).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import torch

ENV_FOLDER = "KIELO_PROFILE"
ENV_STEP = "KIELO_PROFILE_STEP"

# Kernel kinds by name (CUDA kernel names of cuBLAS/CUTLASS, flash attention, Triton, ATen), first
# match wins: flash attention's kernels are CUTLASS templates, so attention is looked for first.
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("attention", re.compile(r"flash|fmha|attn|attention", re.I)),
    ("matmul", re.compile(r"gemm|xmma|cutlass|nvjet|sm\d+_.*(?:tn|nt|nn|tt)|splitK", re.I)),
    ("triton", re.compile(r"^triton|_kernel$", re.I)),
    ("copy/fill", re.compile(r"memcpy|memset|copy|fill|cat|index", re.I)),
    ("element-wise/reduce", re.compile(r"elementwise|vectorized|reduce|unrolled|softmax|norm|dropout|bernoulli|foreach|adam", re.I)),
)


def requested_step() -> int | None:
    """The step to profile, or None when profiling is off."""
    if not os.environ.get(ENV_FOLDER):
        return None
    try:
        return max(1, int(os.environ.get(ENV_STEP, "2")))
    except ValueError:
        return 2


@contextlib.contextmanager
def maybe_profile(step: int, device: torch.device, job_dir: str) -> Iterator[None]:
    """Profile this step if it is the requested one; otherwise do nothing."""
    if requested_step() != step:
        yield
        return
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    before = allocator_counts(device)
    started = time.perf_counter()
    with profile(activities=activities) as prof, synchronisations(device) as syncs:
        yield
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - started
    after = allocator_counts(device)
    folder = Path(os.environ[ENV_FOLDER])
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(job_dir).resolve().name or "job"
    text = summarise(prof, wall, step, name) + describe_synchronisations(syncs) + describe_allocator(before, after)
    (folder / f"profile-{name}-step{step}.txt").write_text(text, encoding="utf-8")


@contextlib.contextmanager
def synchronisations(device: torch.device) -> Iterator[Counter[str]]:
    """Where the step made the host wait for the GPU (file:line of the Python code that called the
    synchronising operation: `.item()`, a copy from pageable memory, a data-dependent shape …), by
    torch's sync debug mode. Each one stops the host from queueing work ahead of the GPU."""
    sites: Counter[str] = Counter()
    if device.type != "cuda":
        yield sites
        return
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield sites
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    for warning in caught:
        # torch's own notice that the debug mode is a prototype mentions "synchronizing" too
        if "called a synchronizing" in str(warning.message):
            sites[f"{warning.filename}:{warning.lineno}"] += 1


ALLOCATOR_COUNTS = {
    "num_alloc_retries": "allocations retried after freeing the cache (each waits for the GPU)",
    "num_device_alloc": "device allocations (cudaMalloc or mapped segments)",
    "num_device_free": "device frees",
    "num_ooms": "out-of-memory errors",
}


def allocator_counts(device: torch.device) -> dict[str, int]:
    """The caching allocator's counters: under a tight memory limit it frees its cache and
    retries, which synchronises the device; a step that does so often is host-bound for it."""
    if device.type != "cuda":
        return {}
    stats = torch.cuda.memory_stats(device)
    return {key: int(stats.get(key, 0)) for key in ALLOCATOR_COUNTS}


def describe_allocator(before: dict[str, int], after: dict[str, int]) -> str:
    if not after:
        return ""
    lines = ["", "caching allocator during the step:"]
    for key, meaning in ALLOCATOR_COUNTS.items():
        lines.append(f"  {after[key] - before.get(key, 0):>8}  {meaning}")
    return "\n".join(lines) + "\n"


def describe_synchronisations(sites: Counter[str]) -> str:
    total = sum(sites.values())
    lines = ["", f"synchronising operations in the step: {total}" + (" (none: the host never waited for the GPU)" if not total else "")]
    for site, count in sites.most_common(15):
        lines.append(f"  {count:>6}  {site}")
    return "\n".join(lines) + "\n"


def _device_us(event: object, field: str) -> float:
    # torch renamed cuda_* to device_* (2.4); read whichever this torch has.
    return float(getattr(event, f"self_device_{field}", None) or getattr(event, f"self_cuda_{field}", 0.0) or 0.0)


def kind_of(kernel: str) -> str:
    for kind, pattern in KINDS:
        if pattern.search(kernel):
            return kind
    return "other"


def summarise(prof: object, wall_s: float, step: int, name: str) -> str:
    from torch.autograd import DeviceType

    averages = prof.key_averages()  # type: ignore[attr-defined]
    kernels = [e for e in averages if getattr(e, "device_type", None) == DeviceType.CUDA]
    host = [e for e in averages if getattr(e, "device_type", None) == DeviceType.CPU]
    gpu_us = sum(_device_us(e, "time_total") for e in kernels)
    launches = sum(e.count for e in kernels)
    lines = [
        f"profile of step {step} of {name}: wall {wall_s * 1000:.1f} ms, GPU kernels {gpu_us / 1000:.1f} ms "
        f"({gpu_us / 1e4 / max(wall_s, 1e-9):.0f} % of the wall time), {launches} kernel launches",
        "",
        "kernel time by kind:",
    ]
    by_kind: dict[str, float] = {}
    for e in kernels:
        by_kind[kind_of(e.key)] = by_kind.get(kind_of(e.key), 0.0) + _device_us(e, "time_total")
    for kind, us in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {kind:<22} {us / 1000:>10.1f} ms {us / max(gpu_us, 1e-9):>6.1%}")
    lines += ["", f"{'kernel':<100} {'calls':>7} {'total ms':>10} {'share':>7}"]
    for e in sorted(kernels, key=lambda e: -_device_us(e, "time_total"))[:40]:
        us = _device_us(e, "time_total")
        lines.append(f"{e.key[:100]:<100} {e.count:>7} {us / 1000:>10.2f} {us / max(gpu_us, 1e-9):>7.1%}")
    lines += ["", f"{'host operator (self CPU time)':<70} {'calls':>7} {'self ms':>10}"]
    for e in sorted(host, key=lambda e: -e.self_cpu_time_total)[:30]:
        lines.append(f"{e.key[:70]:<70} {e.count:>7} {e.self_cpu_time_total / 1000:>10.2f}")
    return "\n".join(lines) + "\n"
