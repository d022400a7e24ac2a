"""kielo and its peers side by side, on one GPU, from one command: real tokens/s, MFU, DPO pairs/s
and peak memory of each, and the ratios kielo ÷ peer. Random init, real shapes.

    python3 engine/gpu_checks/bench_speed.py               # one H200: fits in 9 minutes
    python3 engine/gpu_checks/bench_speed.py --cpu --tiny  # any machine: every code path, tiny shapes

Families (bench_workloads.py): LoRA (r 16, α 32, dropout 0.05, all-linear, bf16) on Llama-2-7B
shapes, on full 2,048-token rows and on the real OASST length distribution; QLoRA (the same adapter
on an NF4 base: kielo's own NF4; the peer's bitsandbytes when it is installed); full fine-tuning
on TinyLlama-1.1B shapes and on as many Llama-2-7B layers as fit the GPU; DPO pairs/s on the OASST
ranked pairs' lengths. Runners: kielo (its real engine, `python -m kielo_engine run` on a job folder
written as its compiler would), HF + peft as users write it, the same with Liger kernels, and HF +
peft + bitsandbytes for QLoRA (bench_peers.py); and engine/gpu_checks/bench_generate.py when it
exists (generation; its summary becomes a row).

Every run is its own process (a fresh GPU), one after the other, all started from this one, which
never touches the GPU itself. Per run, after a first step that is not timed: real tokens/s =
non-padding tokens / seconds; MFU = tokens/s × 4N (LoRA, QLoRA) or 6N (full) FLOPs / 989 TFLOP/s
(N = the base model's parameters; the issue's convention); pairs/s for DPO; peak =
torch.cuda.max_memory_allocated. A run that would end after --budget-s is SKIPPED. Writes
bench_speed.{txt,json,log} (and bench_generate.json) into $OUT or --out; prints the table last;
exit 1 if a run failed. docs/gpu.md has the details.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from bench_common import (
    LLAMA2_7B,
    TINY,
    TINY_GQA,
    TINYLLAMA_1B,
    engine_numbers,
    exit_status,
    full_ft_layers,
    gpu_facts,
    make_models_in_child,
    parameter_count,
    pick_work_dir,
    read_events,
    run_child,
    run_engine,
    write_json,
)
from bench_report import PEAK_FLOPS, Result, fill_in, report, set_ratios, table
from bench_workloads import FAMILIES, GENERATE, RUNNERS, RUNS, Lengths, Run, describe, load_oasst, peer_steps, write_kielo_job

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATE_SCRIPT = os.path.join(HERE, "bench_generate.py")
SEQ_LEN = 2048
TINY_SEQ_LEN = 256
# --tiny: the logits of a 32000-token vocabulary would take most of a CPU rehearsal's time.
TINY_VOCAB = 2048
# Seconds a run is expected to take before one of its model has run (then: the longest so far).
FIRST_ESTIMATE = {"7b": 60.0, "1b": 30.0, "7b-full": 150.0, GENERATE: 60.0}


@dataclass
class Bench:
    args: argparse.Namespace
    seq_len: int
    dtype: str
    shapes: dict[str, dict[str, Any]]
    model_dirs: dict[str, str]
    labels: dict[str, str]
    lengths: Lengths
    work: str
    out: str
    log: TextIO
    started: float
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # bench_speed.json's fields besides the results

    def base_params(self, model: str) -> int:
        return parameter_count(self.shapes[model], self.shapes[model]["num_hidden_layers"])


def skip_reason(run: Run, cpu: bool) -> str | None:
    """Why a run cannot go here (its package or script is missing, or it needs a GPU), else None."""
    if run.runner == "hf+liger":
        if cpu:
            return "Liger's Triton kernels run on a GPU only"
        if importlib.util.find_spec("liger_kernel") is None:
            return "liger-kernel is not installed (bash scripts/gpu/wheels.sh, carry .whl)"
    if run.runner == "hf+bnb" and importlib.util.find_spec("bitsandbytes") is None:
        return "bitsandbytes is not installed: the peers have no QLoRA here (bash scripts/gpu/wheels.sh, carry .whl)"
    if run.family == GENERATE and not os.path.isfile(GENERATE_SCRIPT):
        return "engine/gpu_checks/bench_generate.py not found"
    return None


def versions() -> dict[str, str | None]:
    """Without importing them (the parent never imports torch)."""
    out: dict[str, str | None] = {}
    for name in ("torch", "transformers", "peft", "liger-kernel", "bitsandbytes"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


# ---- one run ------------------------------------------------------------------------------------


def run_kielo(b: Bench, run: Run, result: Result, job_dir: str, timeout: float) -> int | None:
    family = FAMILIES[run.family]
    counts = write_kielo_job(job_dir, run, family, b.lengths, b.args.steps, b.seq_len, b.model_dirs[family.model], b.dtype,
                             b.shapes[family.model]["vocab_size"], b.args.seed, b.args.overrides)
    result.setup, result.job_fields = describe(run, counts["job"], counts["job_fields"]), counts["job_fields"]
    print(f"-- {run.name}: {result.model}; {result.setup}", flush=True)
    code, launched = run_engine(job_dir, b.log, timeout, b.args.cpu)
    fill_in(result, engine_numbers(read_events(os.path.join(job_dir, "events.jsonl")), launched), family,
            b.base_params(family.model), b.args.cpu)
    flat = (result.engine or {}).get("layout") == "flat"  # one row of documents: no padding computed
    result.fill = 1.0 if flat else counts["real_tokens"] / counts["computed_tokens"]
    result.setup = describe(run, counts["job"], counts["job_fields"], result.engine)
    return code


def peer_run(b: Bench, run: Run, job_dir: str) -> dict[str, Any]:
    """A bench_peers.py run: its spec and where its result goes."""
    family = FAMILIES[run.family]
    spec = {"name": run.name, "runner": run.runner, "method": family.method, "adapter": family.adapter,
            "model_dir": b.model_dirs[family.model], "cpu": b.args.cpu, "checkpointing": run.checkpointing,
            "seed": b.args.seed, "vocab_size": b.shapes[family.model]["vocab_size"],
            "steps": peer_steps(run, family, b.lengths, b.args.steps, b.seq_len, b.args.seed)}
    return {"spec": spec, "result": os.path.join(job_dir, "result.json")}


def run_peers(b: Bench, runs: list[dict[str, Any]], folder: str, timeout: float) -> int | None:
    runs_path = os.path.join(folder, "runs.json")
    write_json(runs_path, runs)
    code, _ = run_child([sys.executable, os.path.join(HERE, "bench_peers.py"), runs_path], "bench_peers.py", b.log, timeout, b.args.cpu)
    return code


def read_result(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        return {"status": "not run"}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def run_generate(b: Bench, result: Result, timeout: float) -> int | None:
    """bench_generate.py in its own process, as `bench_generate.py --out DIR [--cpu] [--tiny]
    [--generate-args …]`; the row is its DIR/bench_generate.json's "summary" object (tokens_per_s and
    peak_memory_gib fill those columns), else its last line of output. Its .json and .txt are
    copied into --out."""
    gen_out = os.path.join(b.work, "generate-out")
    shutil.rmtree(gen_out, ignore_errors=True)
    os.makedirs(gen_out)
    cmd = [sys.executable, GENERATE_SCRIPT, "--out", gen_out, *(["--cpu"] if b.args.cpu else []), *(["--tiny"] if b.args.tiny else []),
           *shlex.split(b.args.generate_args)]
    print(f"-- {result.name}: {' '.join(cmd[1:])}", flush=True)
    gen_log = os.path.join(b.work, "generate.log")
    with open(gen_log, "w", encoding="utf-8") as own:
        code, _ = run_child(cmd, "bench_generate.py", own, timeout, b.args.cpu)
    with open(gen_log, encoding="utf-8") as f:
        output = f.read()
    b.log.write(output)
    for name in ("bench_generate.json", "bench_generate.txt"):
        if os.path.isfile(os.path.join(gen_out, name)):
            shutil.copyfile(os.path.join(gen_out, name), os.path.join(b.out, name))
    report_path = os.path.join(gen_out, "bench_generate.json")
    summary: dict[str, Any] | None = None
    if os.path.isfile(report_path):
        with open(report_path, encoding="utf-8") as f:
            gen = json.load(f)
        if isinstance(gen, dict) and isinstance(gen.get("summary"), dict):
            summary = gen["summary"]
    if summary is None:
        lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("=====")]
        summary = {"text": lines[-1] if lines else "(no output)"}
    result.summary = summary
    number = lambda key: summary[key] if isinstance(summary.get(key), (int, float)) else None  # noqa: E731
    result.tokens_per_s, result.peak_memory_gib = number("tokens_per_s"), number("peak_memory_gib")
    result.status = "ok" if code == 0 else "FAIL"
    result.message = "" if code in (0, None) else f"exit code {code}; see bench_speed.log"
    return code


# ---- the whole benchmark ------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    families_all = list(FAMILIES) + [GENERATE]
    parser = argparse.ArgumentParser(
        description="kielo next to HF + peft, HF + Liger and HF + bitsandbytes on one GPU: real tokens/s, MFU, "
        "DPO pairs/s, peak memory, ratios (random init, real shapes: Llama-2-7B, TinyLlama-1.1B); then generation.",
    )
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (fp32): a rehearsal of every code path")
    parser.add_argument("--tiny", action="store_true", help=f"2-layer models, vocabulary {TINY_VOCAB}, sequences of {TINY_SEQ_LEN}, 2 steps, a quarter of the sequences per step")
    parser.add_argument("--families", default=",".join(families_all), help=f"comma-separated subset of {', '.join(families_all)} (default: all)")
    parser.add_argument("--runners", default=",".join(RUNNERS), help=f"comma-separated subset of {', '.join(RUNNERS)} (default: all)")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per run, the first not timed (default 4; 2 with --tiny)")
    parser.add_argument("--budget-s", type=float, default=480.0, help="skip a run that would end after this many seconds (default 480: the whole command fits in 9 minutes of one H200)")
    parser.add_argument("--kielo-job", action="append", default=[], metavar="FIELD=JSON",
                        help="set a job.json field in every kielo run (dots for nested fields), e.g. gradient_checkpointing=false or dpo.reference='\"precomputed\"'")
    parser.add_argument("--generate-args", default="", metavar="ARGS",
                        help="more arguments for engine/gpu_checks/bench_generate.py, e.g. --generate-args=--random-init")
    parser.add_argument("--peers-in-one-process", action="store_true", help="run all peers in one process (CPU rehearsal only: a GPU run gives each its own)")
    parser.add_argument("--work", default=None, help="folder for models and job folders (default /dev/shm/kielo-bench if it fits, else $TMPDIR/kielo-bench)")
    parser.add_argument("--out", default=os.environ.get("OUT") or None, help="folder for bench_speed.{txt,json,log} (default $OUT, else <work>/out)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data order and the random token ids (default 0)")
    parser.add_argument("--keep", action="store_true", help="keep the models and job folders")
    args = parser.parse_args(argv)
    args.family_list = [f.strip() for f in args.families.split(",") if f.strip()]
    args.runner_list = [r.strip() for r in args.runners.split(",") if r.strip()]
    bad = [f for f in args.family_list if f not in families_all] + [r for r in args.runner_list if r not in RUNNERS]
    if bad or not args.family_list or not args.runner_list:
        parser.error(f"unknown families/runners {bad}: choose from {', '.join(families_all)} / {', '.join(RUNNERS)}")
    if args.peers_in_one_process and not args.cpu:
        parser.error("--peers-in-one-process is for the CPU rehearsal: on a GPU each run needs a fresh process")
    args.steps = args.steps or (2 if args.tiny else 4)
    if args.steps < 1:
        parser.error("--steps must be ≥ 1")
    args.overrides = {}
    for pair in args.kielo_job:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            parser.error(f"--kielo-job {pair!r}: expected FIELD=JSON, e.g. gradient_checkpointing=false")
        try:
            args.overrides[key] = json.loads(raw)
        except json.JSONDecodeError:
            args.overrides[key] = raw  # a bare string
    return args


def plan_of(args: argparse.Namespace, seq_len: int) -> list[Run]:
    plan = [r for r in RUNS if r.family in args.family_list and (r.family == GENERATE or r.runner in args.runner_list)]
    if args.tiny:
        plan = [r.tiny(seq_len, SEQ_LEN) for r in plan]
    return plan


def notes_of(b: Bench, facts: dict[str, Any], libs: dict[str, str | None], full_layers: int) -> list[str]:
    s, shapes, layers = b.lengths.stats["sft"], b.shapes, b.shapes["7b"]["num_hidden_layers"]
    return [
        f"bench_speed: random init, real shapes — {b.labels['7b']} (hidden {shapes['7b']['hidden_size']}, {layers} layers), "
        f"{b.labels['1b']} (hidden {shapes['1b']['hidden_size']}, {shapes['1b']['num_hidden_layers']} layers, "
        f"{shapes['1b']['num_key_value_heads']} KV heads), vocab {shapes['7b']['vocab_size']}; {b.dtype}, sdpa, "
        f"{b.args.steps} steps per run (the first not timed); device {facts['gpu_name']}; " + ", ".join(f"{k} {v}" for k, v in libs.items() if v),
        f"data: full = rows of {b.seq_len} random token ids, all trained; oasst = the lengths of the oasst1 validation prompt→reply pairs "
        f"(Mistral tokenizer, llama-2 template: mean {s['mean']}, median {s['median']}, p90 {s['p90']}; {len(b.lengths.sft)} ≤ {b.seq_len} kept, "
        f"{b.lengths.dropped_sft} longer left out), prompts untrained — kielo packed as its compiler packs, peers padded to the batch's longest; "
        f"DPO: {len(b.lengths.dpo)} ranked oasst1 reply pairs' lengths",
        f"MFU = real tokens/s × 4N (LoRA, QLoRA) or 6N (full) FLOPs / {PEAK_FLOPS / 1e12:.0f} TFLOP/s, N = the base model's parameters; "
        f"full fine-tuning keeps fp32 master weights + AdamW states (16 B/param), bf16 compute, in kielo and the peer: "
        f"{full_layers} of {layers} Llama-2-7B layers fit",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    seq_len = TINY_SEQ_LEN if args.tiny else SEQ_LEN
    shapes = {"7b": dict(LLAMA2_7B), "1b": dict(TINYLLAMA_1B)}
    if args.tiny:
        shapes = {"7b": {**TINY, "vocab_size": TINY_VOCAB}, "1b": {**TINY_GQA, "vocab_size": TINY_VOCAB}}
    facts = {"gpu_name": "cpu", "gpu_bytes": None} if args.cpu else gpu_facts()
    if not args.cpu and facts["gpu_bytes"] is None:
        print("bench_speed: no GPU found (nvidia-smi, torch.cuda); run with --cpu --tiny to rehearse on the CPU", file=sys.stderr)
        return 2
    layers = shapes["7b"]["num_hidden_layers"]
    full_layers = full_ft_layers(shapes["7b"], facts["gpu_bytes"], 2, seq_len)
    shapes["7b-full"] = {**shapes["7b"], "num_hidden_layers": full_layers}
    work = os.path.abspath(args.work or pick_work_dir(parameter_count(shapes["7b"], layers) * (4 if args.cpu else 2)))
    out = os.path.abspath(args.out or os.path.join(work, "out"))
    os.makedirs(work, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    tiny, shape = ("tiny ", "-like") if args.tiny else ("", " shapes")
    plan = plan_of(args, seq_len)
    log_path = os.path.join(out, "bench_speed.log")
    model_dirs = {"7b": os.path.join(work, f"model-7b-{layers}l"), "1b": os.path.join(work, "model-1b"),
                  "7b-full": os.path.join(work, f"model-7b-{full_layers}l")}
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            b = Bench(args, seq_len, "fp32" if args.cpu else "bf16", shapes, model_dirs,
                      {"7b": f"{tiny}Llama-2-7B{shape}, random init", "1b": f"{tiny}TinyLlama-1.1B{shape}, random init",
                       "7b-full": f"{tiny}Llama-2-7B{shape} {full_layers}/{layers} layers, random init", GENERATE: "see bench_generate.py"},
                      load_oasst(seq_len), work, out, log, started)
            libs = versions()
            b.notes = notes_of(b, facts, libs, full_layers)
            print("\n".join(b.notes), flush=True)
            b.facts = {"notes": b.notes, "device": facts, "versions": libs, "dtype": b.dtype, "seq_len": seq_len, "steps": args.steps,
                       "peak_flops": PEAK_FLOPS, "shapes": shapes, "full_ft_layers": full_layers, "kielo_job_overrides": args.overrides,
                       "oasst": {"kept_sft": len(b.lengths.sft), "dropped_sft": b.lengths.dropped_sft, "kept_dpo": len(b.lengths.dpo),
                                 "dropped_dpo": b.lengths.dropped_dpo, "stats": b.lengths.stats}}
            make_seconds = make_models(b, plan)
            if make_seconds is None:
                return 1
            b.facts["make_model_seconds"] = make_seconds
            results = run_plan(b, plan)
    finally:
        if not args.keep:  # the models are the size of the GPU's work: never left behind in /dev/shm
            for folder in set(model_dirs.values()) | {os.path.join(work, "generate-out")}:
                shutil.rmtree(folder, ignore_errors=True)
    text = save(b, results)
    print(f"\nlogs: {log_path}; total {time.time() - started:.0f}s\n")
    print(text, end="")
    return 0 if all(r.status in ("ok", "SKIPPED") for r in results) else 1


def save(b: Bench, results: list[Result]) -> str:
    """bench_speed.txt and .json, rewritten after every run so that a command stopped from outside
    still leaves what was measured; returns the text."""
    set_ratios(results)
    text = "\n".join(b.notes) + "\n" + table(results) + "\n"
    with open(os.path.join(b.out, "bench_speed.txt.tmp"), "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(os.path.join(b.out, "bench_speed.txt.tmp"), os.path.join(b.out, "bench_speed.txt"))
    write_json(os.path.join(b.out, "bench_speed.json"), {**b.facts, "results": [asdict(r) for r in results], "total_seconds": time.time() - b.started})
    return text


def make_models(b: Bench, plan: list[Run]) -> float | None:
    """The random-init models the plan uses, in one child process; its seconds, None on failure."""
    used = {FAMILIES[r.family].model for r in plan if r.family in FAMILIES}
    if not used:
        return 0.0
    t0 = time.time()
    dirs_7b = {b.model_dirs[m]: b.shapes[m]["num_hidden_layers"] for m in ("7b", "7b-full") if m in used}
    spec = ([{"shape": b.shapes["7b"], "dirs": dirs_7b}] if dirs_7b else []) + (
        [{"shape": b.shapes["1b"], "dirs": {b.model_dirs["1b"]: b.shapes["1b"]["num_hidden_layers"]}}] if "1b" in used else [])
    print(f"making the random-init models in {b.work} …", flush=True)
    ok, error = make_models_in_child(spec, b.args.cpu, b.log)
    if not ok:
        print(error, file=sys.stderr)
        print("bench_speed: could not make the random-init models", file=sys.stderr)
        return None
    print(f"models saved in {time.time() - t0:.0f}s", flush=True)
    return time.time() - t0


def run_plan(b: Bench, plan: list[Run]) -> list[Result]:
    args = b.args
    results: list[Result] = []
    longest: dict[str, float] = {}
    shared: list[tuple[Result, dict[str, Any]]] = []  # --peers-in-one-process
    for run in plan:
        model = FAMILIES[run.family].model if run.family in FAMILIES else GENERATE
        setup = describe(run) if run.family in FAMILIES else "engine/gpu_checks/bench_generate.py"
        result = Result(run.name, run.family, run.runner, b.labels[model], setup)
        results.append(result)
        elapsed = time.time() - b.started
        estimate = longest.get(model, 8.0 if args.tiny else FIRST_ESTIMATE[model])
        reason = skip_reason(run, args.cpu)
        if reason is None and not (args.peers_in_one_process and run.runner.startswith("hf")) and elapsed + estimate > args.budget_s:
            reason = f"time budget: {elapsed:.0f}s used of {args.budget_s:.0f}s, this run needs about {estimate:.0f}s"
        if reason is not None:
            result.status, result.message = "SKIPPED", reason
            print(f"-- {run.name}: skipped ({reason})", flush=True)
            continue
        job_dir = os.path.join(b.work, f"job-{run.family}-{run.runner.replace('+', '-')}" + (f"-{run.variant}" if run.variant else ""))
        shutil.rmtree(job_dir, ignore_errors=True)
        os.makedirs(job_dir)
        timeout = max(60.0, args.budget_s + 60.0 - elapsed)  # the whole command ends by --budget-s + 60 s
        t0 = time.time()
        if run.runner == "kielo":
            code = run_kielo(b, run, result, job_dir, timeout)
        elif run.family == GENERATE:
            code = run_generate(b, result, timeout)
        elif args.peers_in_one_process:
            shared.append((result, peer_run(b, run, job_dir)))
            continue
        else:
            print(f"-- {run.name}: {result.model}; {result.setup}", flush=True)
            item = peer_run(b, run, job_dir)
            code = run_peers(b, [item], job_dir, timeout)
            fill_in(result, read_result(item["result"]), FAMILIES[run.family], b.base_params(model), args.cpu)
        result.wall_seconds = time.time() - t0
        longest[model] = max(longest.get(model, 0.0), result.wall_seconds)
        result.status, result.message = exit_status(code, result.status, result.message, "bench_speed.log")
        report(result)
        save(b, results)
        if not args.keep:
            shutil.rmtree(job_dir, ignore_errors=True)
    if shared:
        print(f"-- {len(shared)} peer runs in one process (CPU rehearsal)", flush=True)
        t0 = time.time()
        code = run_peers(b, [item for _, item in shared], b.work, max(120.0, args.budget_s))
        for result, item in shared:
            family = FAMILIES[result.family]
            fill_in(result, read_result(item["result"]), family, b.base_params(family.model), args.cpu)
            result.status, result.message = exit_status(code, result.status, result.message, "bench_speed.log")
            result.wall_seconds = time.time() - t0
            report(result)
            if not args.keep:
                shutil.rmtree(os.path.dirname(item["result"]), ignore_errors=True)
        save(b, results)
    return results


if __name__ == "__main__":
    sys.exit(main())
