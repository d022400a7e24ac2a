"""IFEval generation speed and correctness: kielo's fast backend against transformers' generate.

    python3 engine/gpu_checks/bench_generate.py MODEL_DIR         # GPU host: SmolLM2-135M-Instruct folder
    python3 engine/gpu_checks/bench_generate.py --random-init     # no model there: SmolLM2 shapes, random weights
    python3 engine/gpu_checks/bench_generate.py --cpu --tiny      # any machine, seconds: the same code path

Prompts: the 541 IFEval prompts (resources/ifeval) rendered with the model's chat template as
`kielo generate` sends them. Without Node on the GPU host they come from
engine/gpu_checks/fixtures/ifeval-smollm2-prompt-ids.json.gz (kielo's own template rendering and
tokenizer, SmolLM2's vocabulary); a model folder with a tokenizer and a chat template is rendered
with transformers' `apply_chat_template` instead, and the two are compared. --tiny uses the real
tiny model (fixtures/models/stories260K) on the prompts' raw text, cut to 8-64 tokens.

Phases, each timed with the GPU synchronised (a phase that fails is reported and the next runs):
1. fast, cold: `generate(backend="fast")` on every prompt, at most --max-new-tokens (1,280), greedy,
   stopping at the model's EOS: wall time including Triton compilation and CUDA-graph capture;
2. fast, warm: the same again in the same process (kernels compiled; graphs captured anew);
3. fp32 identity: the model in fp32, the fast path and transformers' generate (batches of
   --hf-batch) each give the first --check-tokens (64) tokens of every answer: they must be equal;
4. transformers' generate in bf16, length-sorted batches of --hf-batch (96), at most
   --max-new-tokens: it stops starting batches after --hf-limit-s seconds, and the total is
   extrapolated from the batches done (said so in the table);
5. agreement in bf16 (a number, not a check: batch composition changes bf16 rounding): the share
   of prompts whose first 64 tokens equal the fp32 reference's, for the fast path and for
   transformers, and fast vs transformers in bf16 on the prompts phase 4 reached.

Writes to $OUT (or --out): bench_generate.txt (the table), bench_generate.json (every number; its
"summary" object is what bench_speed.py shows in its `generate` row),
bench_generate.log (everything printed, tracebacks included), bench_generate-mismatches.jsonl
(where fp32 outputs differ). Prints the table last. Exit code 1 if the fp32 identity fails or a
phase failed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
import traceback
from typing import Any

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "engine"))

from kielo_engine import generate as gen  # noqa: E402 — after the sys.path line above
from kielo_engine.decode import FastOptions  # noqa: E402 — after the sys.path line above
from kielo_engine.hf_generate import transformers_generate  # noqa: E402 — after the sys.path line above
from kielo_engine.modeling import load_model  # noqa: E402 — after the sys.path line above

FIXTURE = os.path.join(REPO, "engine", "gpu_checks", "fixtures", "ifeval-smollm2-prompt-ids.json.gz")
IFEVAL = os.path.join(REPO, "resources", "ifeval", "input_data.jsonl")
TINY_MODEL = os.path.join(REPO, "fixtures", "models", "stories260K", "hf")
SMOLLM2_DIR = os.path.join(REPO, "fixtures", "models", "smollm2-135m-instruct")
# SmolLM2-135M-Instruct's config.json (Llama architecture).
SMOLLM2_135M: dict[str, Any] = {
    "vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
    "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64, "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5, "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
    "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2, "hidden_act": "silu",
}


class Bench:
    def __init__(self, out: str, device: torch.device):
        self.out = out
        self.device = device
        self.numbers: dict[str, Any] = {"phases": {}, "notes": []}
        self.failed: list[str] = []
        os.makedirs(out, exist_ok=True)
        self.log_file = open(os.path.join(out, "bench_generate.log"), "w", encoding="utf-8")  # noqa: SIM115 — open for the whole run

    def say(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def note(self, message: str) -> None:
        self.numbers["notes"].append(message)
        self.say(message)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def reset_peak(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def peak_gib(self) -> float | None:
        return torch.cuda.max_memory_allocated(self.device) / 2**30 if self.device.type == "cuda" else None

    def phase(self, name: str, fn, *args, **kwargs):
        """Run one phase; a failure is logged with its traceback and recorded, never raised."""
        self.say(f"--- {name}")
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 — report and go on with the next phase
            self.failed.append(name)
            self.numbers["phases"][name] = {"status": "FAIL", "error": f"{type(err).__name__}: {err}"}
            self.say(f"{name} FAILED: {type(err).__name__}: {err}")
            self.log_file.write(traceback.format_exc())
            self.log_file.flush()
            return None

    def save(self) -> None:
        with open(os.path.join(self.out, "bench_generate.json"), "w", encoding="utf-8") as handle:
            json.dump(self.numbers, handle, indent=2)


def load_prompts(args, bench: Bench, model_dir: str | None) -> list[list[int]]:
    if args.tiny:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(TINY_MODEL)
        with open(IFEVAL, encoding="utf-8") as handle:
            texts = [json.loads(line)["prompt"] for line in handle if line.strip()]
        bench.note("prompts: IFEval raw text in the tiny model's tokenizer, cut to 8-64 tokens (no chat template)")
        return [tokenizer(text).input_ids[: 8 + (i * 29) % 57] for i, text in enumerate(texts)]
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as handle:
        fixture = [p["prompt_ids"] for p in json.load(handle)["prompts"]]
    rendered = render_with_transformers(model_dir, bench) if model_dir else None
    if rendered is None:
        bench.note(f"prompts: {os.path.relpath(FIXTURE, REPO)} (kielo's chat-template rendering, SmolLM2 tokenizer)")
        return fixture
    same = sum(a == b for a, b in zip(rendered, fixture))
    bench.note(f"prompts: the model's tokenizer and chat template (transformers apply_chat_template); "
               f"{same}/{len(fixture)} equal to kielo's rendering in the fixture")
    return rendered


def render_with_transformers(model_dir: str, bench: Bench) -> list[list[int]] | None:
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if not tokenizer.chat_template:
            return None
        with open(IFEVAL, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return [list(tokenizer.apply_chat_template([{"role": "user", "content": r["prompt"]}],
                                                   add_generation_prompt=True, tokenize=True, return_dict=False))
                for r in rows]
    except Exception as err:  # noqa: BLE001 — fall back to the fixture
        bench.note(f"could not render prompts with {model_dir}'s tokenizer ({type(err).__name__}: {err})")
        return None


def load(args, bench: Bench, dtype: str):
    """(model, description, stop token ids)."""
    if args.tiny:
        model = load_model(TINY_MODEL, dtype, device=bench.device)
        return model, "stories260K (real tiny model, 260K parameters)", [2]
    if args.random_init:
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(0)
        model = LlamaForCausalLM(LlamaConfig(**SMOLLM2_135M)).to(dtype=torch.float32)
        model = model.to(device=bench.device, dtype=gen_dtype(dtype)).eval()
        return model, "RANDOM INIT with SmolLM2-135M shapes (30 layers, hidden 576, 9 heads, 3 KV heads, vocab 49152)", [2]
    model = load_model(args.model, dtype, device=bench.device)
    return model, f"{args.model} (real weights)", gen.default_stop_tokens(model)


def gen_dtype(name: str) -> torch.dtype:
    return {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[name]


def fast_run(bench: Bench, model, prompts, stops, max_new: int, options: FastOptions) -> tuple[list[list[int]], dict]:
    requests = [{"key": str(i), "prompt_ids": p} for i, p in enumerate(prompts)]
    report: dict = {}
    bench.sync()
    bench.reset_peak()
    started = time.perf_counter()
    results = gen.generate(model, requests, max_new_tokens=max_new, temperature=0.0, top_p=1.0, seed=0,
                           stop_token_ids=stops, backend="fast", fast_options=options, report=report)
    bench.sync()
    seconds = time.perf_counter() - started
    outputs = [r["output_ids"] for r in results]
    generated = sum(len(o) for o in outputs)
    fast = report.get("fast", {})
    numbers = {"status": "ok", "seconds": seconds, "generated_tokens": generated, "tokens_per_s": generated / seconds,
               "peak_gib": bench.peak_gib(), "hit_max_new_tokens": sum(r["finish_reason"] == "length" for r in results),
               "output_lengths": summary([len(o) for o in outputs]), **fast}
    bench.say(f"fast path ran with attention={fast.get('attention')}, CUDA graphs "
              f"{'on' if fast.get('graphs') else 'off'} ({fast.get('graphs_captured')} captured in "
              f"{fast.get('capture_seconds', 0):.2f} s), {fast.get('slots')} rows in flight, {fast.get('steps')} steps; "
              f"{generated} tokens in {seconds:.2f} s = {generated / seconds:,.0f} tokens/s")
    for note in fast.get("notes", []):
        bench.note(f"fast path: {note}")
    return outputs, numbers


def fast_phase(bench: Bench, name: str, model, prompts, stops, max_new: int, options: FastOptions):
    """The fast path; if it fails with graphs or Triton, once more with both off (said in the table)."""
    try:
        outputs, numbers = fast_run(bench, model, prompts, stops, max_new, options)
    except Exception as err:  # retried once with the plainest settings
        if options.attention == "torch" and not options.graphs:
            raise
        bench.note(f"{name}: fast path failed ({type(err).__name__}: {err}); again with torch attention, no graphs")
        bench.log_file.write(traceback.format_exc())
        safe = FastOptions(attention="torch", graphs=False, log=options.log)
        outputs, numbers = fast_run(bench, model, prompts, stops, max_new, safe)
        numbers["fallback"] = f"{type(err).__name__}: {err}"
    bench.numbers["phases"][name] = numbers
    bench.save()
    return outputs


def hf_run(bench: Bench, model, prompts, stops, max_new: int, batch: int, limit_s: float | None) -> dict:
    """transformers' generate in length-sorted batches; stops starting batches after limit_s."""
    order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
    outputs: dict[int, list[int]] = {}
    bench.sync()
    bench.reset_peak()
    started = time.perf_counter()
    for start in range(0, len(order), batch):
        if limit_s is not None and time.perf_counter() - started > limit_s:
            break
        chunk = order[start : start + batch]
        got = transformers_generate(model, [prompts[i] for i in chunk], max_new_tokens=max_new, temperature=0.0,
                                    top_p=1.0, seed=0, batch_size=batch, stop_token_ids=stops)
        for i, tokens in zip(chunk, got):
            outputs[i] = gen.split_output(tokens, set(stops))[0]
        bench.sync()
        bench.say(f"  transformers: {len(outputs)}/{len(prompts)} prompts, {time.perf_counter() - started:.1f} s")
    seconds = time.perf_counter() - started
    done = len(outputs)
    generated = sum(len(o) for o in outputs.values())
    return {"status": "ok", "prompts_done": done, "seconds": seconds, "generated_tokens": generated,
            "extrapolated": done < len(prompts), "seconds_all": seconds * len(prompts) / max(done, 1),
            "tokens_per_s": generated / seconds if seconds > 0 else None, "peak_gib": bench.peak_gib(),
            "outputs": outputs}


def summary(values: list[int]) -> dict:
    ordered = sorted(values)
    return {"mean": statistics.mean(values), "median": statistics.median(values),
            "p90": ordered[int(0.9 * (len(ordered) - 1))], "max": ordered[-1]}


def first_divergence(a: list[int], b: list[int]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def agreement(a: dict[int, list[int]], b: dict[int, list[int]], tokens: int | None) -> dict:
    keys = sorted(set(a) & set(b))
    same = sum(a[k][:tokens] == b[k][:tokens] for k in keys) if tokens else sum(a[k] == b[k] for k in keys)
    return {"equal": same, "of": len(keys), "rate": same / len(keys) if keys else None}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", help=f"model folder (default: {os.path.relpath(SMOLLM2_DIR, REPO)})")
    parser.add_argument("--random-init", action="store_true", help="SmolLM2-135M shapes with random weights")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU, in fp32")
    parser.add_argument("--tiny", action="store_true", help="the tiny test model, 16 prompts, 32 new tokens")
    parser.add_argument("--prompts", type=int, help="use the first N prompts (default: all 541; --tiny 16)")
    parser.add_argument("--max-new-tokens", type=int, help="default 1280 (--tiny 32)")
    parser.add_argument("--check-tokens", type=int, help="tokens compared in fp32 (default 64; --tiny 12)")
    parser.add_argument("--hf-batch", type=int, help="transformers' batch size (default 96; --tiny 8)")
    parser.add_argument("--hf-limit-s", type=float, default=150.0, help="transformers bf16 timing budget (s)")
    parser.add_argument("--attention", default="auto", choices=["auto", "triton", "torch"])
    parser.add_argument("--no-graphs", action="store_true", help="fast path without CUDA graphs")
    parser.add_argument("--out", default=os.environ.get("OUT") or "bench-generate-out")
    args = parser.parse_args(argv)
    if not (args.tiny or args.random_init or args.model):
        if not os.path.isfile(os.path.join(SMOLLM2_DIR, "config.json")):
            print(f"error: no model folder given and {SMOLLM2_DIR} does not exist; pass a SmolLM2 folder or "
                  "--random-init", file=sys.stderr)
            return 2
        args.model = SMOLLM2_DIR
    max_new = args.max_new_tokens or (32 if args.tiny else 1280)
    check = args.check_tokens or (12 if args.tiny else 64)
    hf_batch = args.hf_batch or (8 if args.tiny else 96)
    if args.cpu:
        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    device = torch.device("cpu" if args.cpu or not torch.cuda.is_available() else "cuda")
    bench = Bench(args.out, device)
    fast_dtype = "bf16" if device.type == "cuda" else "fp32"
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 on both paths
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    bench.numbers.update(device=name, torch=torch.__version__, max_new_tokens=max_new, check_tokens=check,
                         hf_batch=hf_batch, fast_dtype=fast_dtype)

    loaded = bench.phase("load", load, args, bench, fast_dtype)
    if loaded is None:
        return finish(bench, [])
    model, description, stops = loaded
    prompts = load_prompts(args, bench, args.model)[: args.prompts or (16 if args.tiny else None)]
    lengths = [len(p) for p in prompts]
    header = (f"bench_generate: {description}; {len(prompts)} IFEval prompts ({min(lengths)}-{max(lengths)} tokens), "
              f"<= {max_new} new tokens, greedy, stop {stops}; {name}, torch {torch.__version__}")
    bench.numbers.update(model=description, prompts=len(prompts), stops=stops, header=header)
    bench.say(header)
    options = FastOptions(attention=args.attention, graphs=not args.no_graphs, log=lambda m: bench.say(f"  {m}"))

    cold = bench.phase("fast-cold", fast_phase, bench, "fast-cold", model, prompts, stops, max_new, options)
    warm = bench.phase("fast-warm", fast_phase, bench, "fast-warm", model, prompts, stops, max_new, options)
    if cold is not None and warm is not None and cold != warm:
        bench.note(f"fast cold and warm runs differ on {sum(a != b for a, b in zip(cold, warm))} prompts")
    fast_bf16 = dict(enumerate(warm if warm is not None else cold or []))

    model = model.float()
    reference = bench.phase("fp32-identity", fp32_identity, bench, model, prompts, stops, check, hf_batch, options)
    model = model.to(gen_dtype(fast_dtype))
    hf = bench.phase("hf-bf16", hf_run, bench, model, prompts, stops, max_new, hf_batch, args.hf_limit_s)
    if hf is not None:
        hf_outputs = hf.pop("outputs")
        bench.numbers["phases"]["hf-bf16"] = hf
        if reference is not None:
            bench.numbers["agreement"] = {
                "fast_bf16_vs_hf_fp32_first": agreement(fast_bf16, reference, check),
                "hf_bf16_vs_hf_fp32_first": agreement(hf_outputs, reference, check),
                "fast_bf16_vs_hf_bf16_first": agreement(fast_bf16, hf_outputs, check),
                "fast_bf16_vs_hf_bf16_whole": agreement(fast_bf16, hf_outputs, None),
            }
    return finish(bench, prompts)


def fp32_identity(bench: Bench, model, prompts, stops, check: int, hf_batch: int, options: FastOptions) -> dict:
    fast = fast_phase(bench, "fast-fp32", model, prompts, stops, check, options)
    hf = hf_run(bench, model, prompts, stops, check, hf_batch, None)
    reference = hf.pop("outputs")
    bench.numbers["phases"]["hf-fp32"] = hf
    mismatches = []
    for i, prompt in enumerate(prompts):
        if fast[i] != reference[i]:
            at = first_divergence(fast[i], reference[i])
            row = {"prompt": i, "prompt_tokens": len(prompt), "first_difference": at,
                   "fast": fast[i], "transformers": reference[i]}
            if len(mismatches) < DIAGNOSED:
                row.update(diagnose(model, prompt, fast[i], reference[i], at, stops, check))
            mismatches.append(row)
            bench.say(f"  prompt {i}: differs at token {at}: {json.dumps({k: v for k, v in row.items() if k in DIAGNOSIS})}")
    with open(os.path.join(bench.out, "bench_generate-mismatches.jsonl"), "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in mismatches)
    identical = len(prompts) - len(mismatches)
    diagnosed = [m for m in mismatches if "top2_gap" in m]
    bench.numbers["phases"]["fp32-identity"] = {
        "status": "ok" if not mismatches else "FAIL", "identical": identical, "of": len(prompts), "tokens": check,
        "largest_top2_gap_at_a_difference": max((m["top2_gap"] for m in diagnosed), default=None),
        "transformers_alone_agrees_with_fast": sum(m["transformers_alone"] == "fast" for m in diagnosed),
    }
    if mismatches:
        bench.failed.append("fp32-identity")
    bench.say(f"fp32: first {check} tokens identical on {identical}/{len(prompts)} prompts")
    return reference


DIAGNOSED = 20  # differing prompts examined further (each costs a generate call and a forward)
DIAGNOSIS = ("top2_gap", "transformers_alone")


def diagnose(model, prompt: list[int], fast: list[int], batched: list[int], at: int | None, stops: list[int],
             check: int) -> dict:
    """Is a difference a near tie? The fp32 top-2 logit gap where the outputs part (transformers'
    forward on the common prefix), and which side transformers agrees with when it runs the
    prompt alone (batch of one, no padding)."""
    if at is None:
        return {}
    device = next(model.parameters()).device
    with torch.no_grad():
        ids = torch.tensor([prompt + fast[:at]], device=device)
        top2 = model(ids).logits[0, -1].float().topk(2).values
    alone = transformers_generate(model, [prompt], max_new_tokens=check, temperature=0.0, top_p=1.0, seed=0,
                                  batch_size=1, stop_token_ids=stops)[0]
    alone = gen.split_output(alone, set(stops))[0]
    side = "fast" if alone == fast else "batched transformers" if alone == batched else "neither"
    return {"top2_gap": float(top2[0] - top2[1]), "transformers_alone": side}


def summary_of(bench: Bench) -> dict:
    """The few numbers bench_speed.py shows in its `generate` row (its tokens/s and peak columns)."""
    phases = bench.numbers["phases"]
    warm, hf, ident = phases.get("fast-warm", {}), phases.get("hf-bf16", {}), phases.get("fp32-identity", {})
    found: dict[str, Any] = {"model": bench.numbers.get("model"), "prompts": bench.numbers.get("prompts")}
    if warm.get("status") == "ok":
        found.update(seconds=round(warm["seconds"], 2), tokens_per_s=warm["tokens_per_s"], peak_memory_gib=warm["peak_gib"],
                     path=f"{warm['attention']} attention, graphs {'on' if warm['graphs'] else 'off'}")
        if hf.get("status") == "ok":
            found.update(transformers_seconds=round(hf["seconds_all"], 1), transformers_extrapolated=hf["extrapolated"],
                         speedup=round(hf["seconds_all"] / warm["seconds"], 1))
    if "identical" in ident:
        found["fp32_identical"] = f"{ident['identical']}/{ident['of']}"
    agreement = bench.numbers.get("agreement", {}).get("fast_bf16_vs_hf_fp32_first")
    if agreement and agreement["rate"] is not None:
        found["low_precision_agreement"] = round(agreement["rate"], 4)
    return found


def finish(bench: Bench, prompts: list) -> int:
    bench.numbers["summary"] = summary_of(bench)
    bench.save()
    table = make_table(bench)
    text = "\n".join(table) + "\n"
    with open(os.path.join(bench.out, "bench_generate.txt"), "w", encoding="utf-8") as handle:
        handle.write(text)
    bench.log_file.write(text)
    bench.log_file.close()
    print(text, end="", flush=True)
    return 1 if bench.failed else 0


def make_table(bench: Bench) -> list[str]:
    phases, n = bench.numbers["phases"], bench.numbers.get("prompts", 0)
    rows = [("measure", "value", "detail")]

    def gib(value: float | None) -> str:
        return f"peak {value:.2f} GiB" if value is not None else "peak n/a (CPU)"

    for name, label in (("fast-cold", "fast, cold (compile + capture)"), ("fast-warm", "fast, warm")):
        p = phases.get(name, {})
        if p.get("status") == "ok":
            how = f"{p['attention']} attention, graphs {'on' if p['graphs'] else 'off'}"
            if p.get("fallback"):
                how += " (FALLBACK after an error)"
            detail = (f"{p['tokens_per_s']:,.0f} tok/s, {p['generated_tokens']} tokens, {p['hit_max_new_tokens']} at max, "
                      f"{how}, {gib(p['peak_gib'])}")
            rows.append((f"{label} s", f"{p['seconds']:.2f}", detail))
        else:
            rows.append((f"{label} s", "FAIL", p.get("error", "not run")[:100]))
    hf = phases.get("hf-bf16", {})
    if hf.get("status") == "ok":
        shown = f"{hf['seconds_all']:.1f}" + (" (extrapolated)" if hf["extrapolated"] else "")
        rows.append((f"transformers generate {bench.numbers['fast_dtype']}, batches of {bench.numbers['hf_batch']} s", shown,
                     f"{hf['prompts_done']}/{n} prompts in {hf['seconds']:.1f} s, {gib(hf['peak_gib'])}"))
        warm = phases.get("fast-warm", {})
        if warm.get("status") == "ok":
            speedup = hf["seconds_all"] / warm["seconds"]
            full = n == 541 and bench.numbers["max_new_tokens"] == 1280 and bench.device.type == "cuda"
            verdict = "met" if warm["seconds"] <= 10 else "NOT met"
            target = f"target <= 10 s: {verdict}" if full else "the <= 10 s target is for 541 prompts, 1280 tokens, on a GPU"
            rows.append(("speed-up, fast warm vs transformers", f"{speedup:.1f}x", target))
    else:
        rows.append(("transformers generate s", "FAIL", hf.get("error", "not run")[:100]))
    ident = phases.get("fp32-identity", {})
    if "identical" in ident:
        verdict = "PASS"
        if ident["status"] != "ok":
            gap = ident.get("largest_top2_gap_at_a_difference")
            verdict = (f"FAIL (bench_generate-mismatches.jsonl; largest top-2 logit gap where they part "
                       f"{gap:.2g}, transformers alone sides with fast on {ident['transformers_alone_agrees_with_fast']})"
                       if gap is not None else "FAIL (see bench_generate-mismatches.jsonl)")
        rows.append((f"fp32 first {ident['tokens']} tokens identical", f"{ident['identical']}/{ident['of']}", verdict))
    else:
        rows.append(("fp32 identity", "FAIL", ident.get("error", "not run")[:100]))
    low, check = bench.numbers["fast_dtype"], bench.numbers["check_tokens"]
    for key, label in (("fast_bf16_vs_hf_fp32_first", f"{low} fast = fp32 reference, first {check} tokens"),
                       ("hf_bf16_vs_hf_fp32_first", f"{low} transformers = fp32 reference, first {check} tokens"),
                       ("fast_bf16_vs_hf_bf16_first", f"{low} fast = {low} transformers, first {check} tokens"),
                       ("fast_bf16_vs_hf_bf16_whole", f"{low} fast = {low} transformers, whole answer")):
        a = bench.numbers.get("agreement", {}).get(key)
        if a and a["rate"] is not None:
            rows.append((label, f"{100 * a['rate']:.1f} %", f"{a['equal']}/{a['of']} prompts"))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [bench.numbers.get("header", "bench_generate")]
    lines += [note for note in bench.numbers["notes"]]
    lines += [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]}" for r in rows]
    if bench.failed:
        lines.append(f"FAILED: {', '.join(bench.failed)}")
    return lines


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
