"""The numbers of scripts/gpu/real-model.sh: one results JSON per phase, one line per phase for its
table, the load check, and the final before → after table from all results so far.

    real_model_report.py train-summary EVENTS.jsonl OUT.json
    real_model_report.py heldout RAW.json RESULTS_DIR OUT.json
    real_model_report.py answers-line MODEL ANSWER_STATS.json
    real_model_report.py human-answers RECORDS.jsonl OUT.jsonl
    real_model_report.py ifeval MODEL IFEVAL_REPORT.json MAX_NEW_TOKENS OUT.json
    real_model_report.py load BASE ADAPTER MERGED DEVICE DTYPE OUT.json
    real_model_report.py table RESULTS_DIR

Each subcommand prints one line (the table prints the table) and exits non-zero when its check fails.
"""

from __future__ import annotations

import json
import os
import sys

MODELS = ("base", "sft-lora", "sft-full", "dpo")
# The held-out records' own (human-written, machine-translated) answers: a reference column.
HUMAN = "human"
# The held-out loss computed here and the engine's eval loss must agree this closely (relative):
# the same tokens and the same definition; only batching and bf16 rounding differ.
ENGINE_AGREEMENT = 0.02


def read(path: str):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def events(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def train_summary(events_path: str, out: str) -> str:
    log = events(events_path)
    start = next(e for e in log if e["type"] == "start")
    done = next((e for e in log if e["type"] == "done"), None)
    if done is None:
        error = next((e for e in log if e["type"] == "error"), {})
        raise SystemExit(f"{events_path}: no done event; error: {error.get('message')}")
    steps = [e for e in log if e["type"] == "step"]
    evals = [e for e in log if e["type"] == "eval"]
    last_eval = evals[-1] if evals else {}
    summary = {
        "method": start.get("method"),
        "device": start.get("device"),
        "steps": done["step"],
        "params": start.get("params"),
        "trainable_params": start.get("trainable_params"),
        "first_loss": steps[0]["loss"] if steps else None,
        "last_loss": done.get("loss"),
        "eval_loss": done.get("eval_loss"),
        "eval_accuracy": last_eval.get("accuracy"),
        "eval_margins": last_eval.get("margins"),
        "eval_pairs": last_eval.get("pairs"),
        "tokens_per_s": done.get("tokens_per_s"),
        "peak_memory_gib": (done.get("peak_memory_bytes") or 0) / 2**30,
        "seconds": done.get("seconds"),
    }
    write(out, summary)
    parts = [f"{summary['steps']} steps on {summary['device']}", f"loss {summary['first_loss']:.3f}->{summary['last_loss']:.3f}"]
    if summary["eval_loss"] is not None:
        parts.append(f"held-out {summary['eval_loss']:.3f}")
    if summary["eval_accuracy"] is not None:
        parts.append(f"held-out reward acc {summary['eval_accuracy']:.3f} ({summary['eval_pairs']} pairs)")
    parts.append(f"{summary['tokens_per_s']:.0f} tok/s, peak {summary['peak_memory_gib']:.2f} GiB")
    return ", ".join(parts)


def heldout(raw_path: str, results: str, out: str) -> str:
    raw = read(raw_path)
    checks = {}
    for name in ("sft-lora", "sft-full"):
        if name not in raw:
            continue
        engine = read(os.path.join(results, f"train-{name}.json"))["eval_loss"]
        ours = raw[name]["loss"]
        checks[name] = {"engine_eval_loss": engine, "relative_difference": abs(ours - engine) / engine}
    write(out, {**raw, "engine_check": checks})
    line = ", ".join(f"{name} {raw[name]['loss']:.4f}" for name in raw) + f" on {raw['base']['tokens']} tokens"
    worst = max(c["relative_difference"] for c in checks.values())
    line += f"; engine eval loss agrees within {worst:.2%}"
    if worst > ENGINE_AGREEMENT:
        print(line)
        raise SystemExit(f"the held-out loss here and the engine's eval loss differ by {worst:.2%} (> {ENGINE_AGREEMENT:.0%})")
    return line


def answers_line(model: str, path: str) -> str:
    s = read(path)
    return f"{model}: {s['in_lang']}/{s['answers']} {s['lang']}, {s['loops']} loop, {s['copies']} copy"


def human_answers(records: str, out: str) -> str:
    """The records' own answers as `kielo generate` output rows, to be scored like a model's."""
    rows = []
    with open(records, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                messages = record["messages"]
                rows.append({"key": record["id"], "prompt": messages[-2]["content"], "response": messages[-1]["content"], "finish_reason": "stop"})
    with open(out, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return f"{len(rows)} human answers"


def ifeval(model: str, raw_path: str, max_new: str, out: str) -> str:
    raw = read(raw_path)
    result = {
        "prompts": raw["prompts"],
        "instructions": raw["instructions"],
        "prompt_level_strict": raw["prompt_level_strict"],
        "instruction_level_strict": raw["instruction_level_strict"],
        "prompt_level_loose": raw["prompt_level_loose"],
        "instruction_level_loose": raw["instruction_level_loose"],
        "counts": raw["counts"],
        "max_new_tokens": int(max_new),
    }
    write(out, result)
    c = raw["counts"]
    return (
        f"{model}: prompt {c['prompt_level_strict']}/{raw['prompts']} ({raw['prompt_level_strict']:.2%}), "
        f"instruction {c['instruction_level_strict']}/{raw['instructions']} ({raw['instruction_level_strict']:.2%})"
    )


def load(base: str, adapter: str, merged: str, device: str, dtype_name: str, out: str) -> str:
    """The merged folder as transformers loads it, against the base + adapter it came from."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(merged)
    if not tokenizer.chat_template:
        raise SystemExit(f"{merged}: the tokenizer has no chat template")
    messages = [{"role": "user", "content": "Mikä on Suomen pääkaupunki? Vastaa lyhyesti."}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"].to(device)
    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32

    def logits(model):
        with torch.no_grad():
            values = model.to(device).eval()(input_ids=ids).logits.float().cpu()
        if not torch.isfinite(values).all():
            raise SystemExit("non-finite logits")
        return values

    merged_model = AutoModelForCausalLM.from_pretrained(merged, dtype=dtype)
    merged_logits = logits(merged_model)
    with torch.no_grad():
        answer_ids = merged_model.generate(ids, max_new_tokens=48, do_sample=False)[0, ids.shape[1] :]
    answer = tokenizer.decode(answer_ids, skip_special_tokens=True)
    del merged_model
    # The adapter in fp32 on the fp32 base: the reference the merge approximates.
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), adapter)
    adapter_logits = logits(adapted)
    diff = (merged_logits - adapter_logits).abs().max().item()
    scale = adapter_logits.abs().max().item()
    agree = (merged_logits.argmax(-1) == adapter_logits.argmax(-1)).float().mean().item()
    # fp32 merge: rounding only; bf16 weights: 5 % of the largest logit, as scripts/gpu/e2e.sh allows.
    tolerance = (1e-4 if dtype_name == "fp32" else 0.05) * scale + 1e-4
    result = {"max_abs_logit_diff": diff, "logit_scale": scale, "argmax_agreement": agree, "tolerance": tolerance, "answer": answer}
    write(out, result)
    line = f"merged vs adapter max|dlogit| {diff:.2e} (of {scale:.1f}), argmax agree {agree:.0%}; answer {answer[:60]!r}"
    if diff > tolerance:
        print(line)
        raise SystemExit(f"merged logits differ from the adapter's by {diff} > {tolerance}")
    return line


def percent(value) -> str:
    return "-" if value is None else f"{value:.2%}"


def table(results: str) -> str:
    def get(name):
        path = os.path.join(results, name)
        return read(path) if os.path.isfile(path) else None

    rows: list[tuple[str, dict[str, str]]] = []
    held = get("heldout.json")
    if held:
        docs = held["base"]["documents"]
        rows.append((f"held-out Finnish loss ({docs} docs)", {m: f"{held[m]['loss']:.4f}" for m in MODELS if m in held}))
    answers = {m: get(f"answers-{m}.json") for m in (*MODELS, HUMAN)}
    if any(answers.values()):
        n = next(a["answers"] for a in answers.values() if a)
        rows.append((f"answers in Finnish ({n} prompts)", {m: percent(a["in_lang_share"]) for m, a in answers.items() if a}))
        rows.append(("answers that loop", {m: percent(a["loop_share"]) for m, a in answers.items() if a}))
        rows.append(("answers that copy the prompt", {m: percent(a["copy_share"]) for m, a in answers.items() if a}))
    evals = {m: get(f"ifeval-{m}.json") for m in MODELS}
    if any(evals.values()):
        first = next(e for e in evals.values() if e)
        rows.append((f"IFEval prompt strict ({first['prompts']}, ≤{first['max_new_tokens']} tok)", {m: percent(e["prompt_level_strict"]) for m, e in evals.items() if e}))
        rows.append((f"IFEval instruction strict ({first['instructions']})", {m: percent(e["instruction_level_strict"]) for m, e in evals.items() if e}))
    dpo = get("train-dpo.json")
    if dpo and dpo.get("eval_accuracy") is not None:
        rows.append((f"DPO held-out reward accuracy ({dpo['eval_pairs']} pairs)", {"dpo": percent(dpo["eval_accuracy"])}))
    loaded = get("load.json")
    if loaded:
        rows.append(("merged vs adapter max |Δlogit|", {"dpo": f"{loaded['max_abs_logit_diff']:.2e}"}))
    width = max([len(label) for label, _ in rows] + [10])
    columns = (*MODELS, HUMAN)
    lines = [f"results so far ({results})", f"{'':<{width}}  " + "  ".join(f"{m:>9}" for m in columns)]
    for label, values in rows:
        lines.append(f"{label:<{width}}  " + "  ".join(f"{values.get(m, '-'):>9}" for m in columns))
    if not rows:
        lines.append("(no results yet)")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    handlers = {
        "train-summary": train_summary,
        "heldout": heldout,
        "answers-line": answers_line,
        "human-answers": human_answers,
        "ifeval": ifeval,
        "load": load,
        "table": table,
    }
    if command not in handlers:
        raise SystemExit(f"unknown command {command!r}: {', '.join(handlers)}")
    print(handlers[command](*args))


if __name__ == "__main__":
    main(sys.argv[1:])
