"""The fast generation backend (kielo_engine/decode) against transformers' generate, on real models.

Greedy tokens must equal transformers' `generate` in fp32 token for token; stop tokens and
max_new_tokens end each row on its own; sampling depends on the request and seed only (not on the
batch size, the rows in flight, or the backend); a merged adapter gives peft's tokens; other
architectures fall back to transformers. The Triton kernel runs in Triton's interpreter.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers
from transformers import AutoTokenizer

from kielo_engine import generate as gen
from kielo_engine.decode import FastOptions, unsupported_reason
from kielo_engine.decode.engine import batch_sizes
from kielo_engine.errors import EngineError
from kielo_engine.modeling import load_model

REPO = Path(__file__).resolve().parents[2]
IFEVAL = REPO / "resources" / "ifeval" / "input_data.jsonl"
SMOLLM2 = REPO / "fixtures" / "models" / "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return load_model(tiny_model_path, "fp32")


@pytest.fixture(scope="module")
def requests(tiny_model_path):
    """40 IFEval prompts in the tiny model's tokenizer, cut to lengths from 3 to 120 tokens."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    texts = [json.loads(line)["prompt"] for line in IFEVAL.read_text().splitlines()[:40]]
    return [{"key": f"ifeval-{i}", "prompt_ids": tokenizer(text).input_ids[: 3 + (i * 37) % 118]}
            for i, text in enumerate(texts)]


def run(model, requests, backend, **overrides):
    settings = {"max_new_tokens": 24, "temperature": 0.0, "top_p": 1.0, "seed": 0, "stop_token_ids": [2]}
    settings.update(overrides)
    report: dict = {}
    results = gen.generate(model, requests, backend=backend, report=report, **settings)
    assert report["backend"] == backend, report
    return results


def tokens(results):
    return [r["output_ids"] for r in results]


def test_greedy_equals_transformers_generate_in_fp32(model, requests):
    fast = run(model, requests, "fast", stop_token_ids=[])
    reference = run(model, requests, "transformers", stop_token_ids=[], batch_size=8)
    assert tokens(fast) == tokens(reference)
    assert all(len(r["output_ids"]) == 24 and r["finish_reason"] == "length" for r in fast)
    assert len({len(r["prompt_ids"]) for r in requests}) > 30, "prompts of many different lengths"


def test_stop_tokens_end_each_row_on_its_own(model, requests):
    free = tokens(run(model, requests, "fast", stop_token_ids=[], max_new_tokens=20))
    # Two stop tokens that rows meet at different steps (or never): rows leave the batch one by one.
    counts: dict[int, int] = {}
    for row in free:
        for t in set(row):
            counts[t] = counts.get(t, 0) + 1
    stops = sorted(counts, key=lambda t: abs(counts[t] - len(free) // 2))[:2]
    fast = run(model, requests, "fast", stop_token_ids=stops, max_new_tokens=20)
    reference = run(model, requests, "transformers", stop_token_ids=stops, max_new_tokens=20, batch_size=16)
    assert tokens(fast) == tokens(reference)
    cut_at = []
    for row, result in zip(free, fast):
        first = next((i for i, t in enumerate(row) if t in stops), None)
        assert result["output_ids"] == row[:first], "cut before the first stop token, which is excluded"
        assert result["finish_reason"] == ("length" if first is None else "stop")
        cut_at.append(first)
    assert len(set(cut_at)) >= 4, f"rows should stop at different steps: {cut_at}"


def test_max_new_tokens_one_and_a_few(model, requests):
    for limit in (1, 3):
        fast = run(model, requests, "fast", stop_token_ids=[], max_new_tokens=limit)
        reference = run(model, requests, "transformers", stop_token_ids=[], max_new_tokens=limit, batch_size=40)
        assert tokens(fast) == tokens(reference)
        assert {len(r["output_ids"]) for r in fast} == {limit}


def test_rows_in_flight_do_not_change_greedy_or_sampled_tokens(model, requests):
    """All rows at once, 3 at a time (prompts wait for free slots), one at a time: same tokens."""
    subset = requests[:12]
    for settings in ({"temperature": 0.0}, {"temperature": 1.0, "top_p": 0.9, "seed": 5}):
        everything = tokens(run(model, subset, "fast", **settings))
        assert tokens(run(model, subset, "fast", batch_size=3, **settings)) == everything
        assert tokens(run(model, subset, "fast", batch_size=1, **settings)) == everything
        # Nor on which other requests run with it (sampling seeds by the index in the input, kept here).
        if settings["temperature"] == 0:
            alone = [tokens(run(model, [request], "fast", **settings))[0] for request in subset[:4]]
            assert alone == everything[:4]
        else:
            reordered = tokens(run(model, subset[:6], "fast", batch_size=2, **settings))
            assert reordered == everything[:6]


def test_sampling_matches_the_transformers_path_and_depends_on_the_seed(model, requests):
    settings = {"temperature": 0.8, "top_p": 0.95, "stop_token_ids": []}
    fast = tokens(run(model, requests, "fast", seed=11, **settings))
    reference = tokens(run(model, requests, "transformers", seed=11, batch_size=20, **settings))
    assert fast == reference
    assert tokens(run(model, requests, "fast", seed=12, **settings)) != fast
    assert tokens(run(model, requests, "fast", seed=11, stop_token_ids=[])) != fast  # greedy differs


def test_no_requests_no_work(model):
    assert gen.generate(model, [], max_new_tokens=4, temperature=0, top_p=1, seed=0, stop_token_ids=[]) == []


def test_batch_sizes_cover_every_live_count():
    assert batch_sizes(1) == [1]
    assert batch_sizes(13) == [1, 2, 3, 4, 6, 8, 12, 13]
    sizes = batch_sizes(541)
    assert sizes[-1] == 541 and all(b / a <= 2 for a, b in itertools.pairwise(sizes))


def test_a_merged_adapter_gives_peft_tokens(tiny_model_path, requests):
    from kielo_engine.lora import apply_lora

    adapted = apply_lora(load_model(tiny_model_path, "fp32"), r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, parameter in adapted.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
    assert "not merged" in unsupported_reason(adapted)
    peft_tokens = tokens(run(adapted, requests, "transformers", batch_size=40))
    auto: dict = {}
    gen.generate(adapted, requests[:2], max_new_tokens=2, temperature=0, top_p=1, seed=0, stop_token_ids=[], report=auto)
    assert auto["backend"] == "transformers" and "not merged" in auto["backend_reason"]
    merged = adapted.merge_and_unload()
    assert tokens(run(merged, requests, "fast")) == peft_tokens
    plain = tokens(run(load_model(tiny_model_path, "fp32"), requests, "fast"))
    assert plain != peft_tokens


def tiny_config(model_type: str) -> transformers.PretrainedConfig:
    shapes = {"vocab_size": 512, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 512,
              "initializer_range": 0.2, "tie_word_embeddings": False}
    extra = {"qwen2": {}, "qwen3": {"attention_bias": True}, "mistral": {"sliding_window": 4096},
             "llama": {"attention_bias": True, "mlp_bias": True, "rope_parameters": {
                 "rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}}[model_type]
    return transformers.AutoConfig.for_model(model_type, **shapes, **extra)


@pytest.mark.parametrize("model_type", ["qwen2", "qwen3", "mistral", "llama"])
def test_other_llama_family_models_equal_transformers(model_type, requests):
    """Random weights (wide init, so that logits are far from ties): biases, q/k norms, llama3 RoPE."""
    torch.manual_seed(0)
    config = tiny_config(model_type)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    assert unsupported_reason(model) is None
    subset = requests[:16]
    assert tokens(run(model, subset, "fast", stop_token_ids=[])) == tokens(
        run(model, subset, "transformers", stop_token_ids=[], batch_size=16))


def test_other_architectures_fall_back_to_transformers(requests):
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=512, n_embd=32, n_layer=1, n_head=2, n_positions=256)
    model = transformers.GPT2LMHeadModel(config).eval()
    report: dict = {}
    results = gen.generate(model, requests[:3], max_new_tokens=4, temperature=0, top_p=1, seed=0,
                           stop_token_ids=[], report=report)
    assert report["backend"] == "transformers" and "gpt2" in report["backend_reason"]
    assert all(len(r["output_ids"]) == 4 for r in results)
    with pytest.raises(EngineError, match="fast generation backend cannot run this model"):
        gen.generate(model, requests[:3], max_new_tokens=4, temperature=0, top_p=1, seed=0, stop_token_ids=[],
                     backend="fast")


def test_a_sliding_window_shorter_than_the_generation_falls_back(requests):
    torch.manual_seed(0)
    config = tiny_config("mistral")
    config.sliding_window = 16
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    report: dict = {}
    gen.generate(model, requests[:2], max_new_tokens=4, temperature=0, top_p=1, seed=0, stop_token_ids=[], report=report)
    assert report["backend"] == "transformers" and "sliding-window" in report["backend_reason"]


def test_the_triton_kernel_in_the_interpreter_gives_the_same_tokens(tiny_model_path):
    """The GPU attention kernel, run by Triton's CPU interpreter inside the whole fast loop."""
    code = f"""
import json, sys, torch
torch.set_num_threads(1)
from kielo_engine import generate as gen
from kielo_engine.decode import FastOptions
from kielo_engine.decode.attention import self_test
from kielo_engine.decode.triton_attention import triton_attention
from kielo_engine.modeling import load_model
errors = [self_test(triton_attention, torch.device("cpu"), dtype, 9, 3, 64) for dtype in (torch.float32, torch.bfloat16)]
model = load_model({tiny_model_path!r}, "fp32")
# Two rows, one past the kernel's first block of 64 positions; one step between looks at the rows.
requests = [{{"key": str(i), "prompt_ids": [1] + [(37 * i + 11 * j) % 500 + 3 for j in range(n)]}} for i, n in enumerate([4, 66])]
out = {{}}
for attention in ("triton", "torch"):
    report = {{}}
    results = gen.generate(model, requests, max_new_tokens=3, temperature=0, top_p=1, seed=0, stop_token_ids=[],
                           backend="fast", fast_options=FastOptions(attention=attention, sync_every=1), report=report)
    out[attention] = [[r["output_ids"] for r in results], report["fast"]["attention"]]
print(json.dumps({{"errors": errors, **out}}))
"""
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "engine"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["errors"][0] < 1e-5 and found["errors"][1] < 3e-2
    assert found["triton"][1] == "triton" and found["torch"][1] == "torch"
    assert found["triton"][0] == found["torch"][0]


def test_the_cli_merges_an_adapter_and_reports_the_backend(tiny_model_path, requests, tmp_path, capsys):
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in requests[:5]))
    for backend in ("auto", "transformers"):
        target = tmp_path / f"{backend}.jsonl"
        argv = ["--model", tiny_model_path, "--input", str(source), "--output", str(target), "--max-new-tokens", "6",
                "--device", "cpu", "--backend", backend]
        assert gen.main(argv) == 0
        done = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert done["type"] == "done" and done["backend"] == ("fast" if backend == "auto" else "transformers")
    assert (tmp_path / "auto.jsonl").read_text() == (tmp_path / "transformers.jsonl").read_text()
    assert done.get("fast") is None
    assert FastOptions().graphs  # graphs are on by default (and only ever used on CUDA)


@pytest.mark.skipif(not (SMOLLM2 / "config.json").is_file(), reason="SmolLM2-135M-Instruct is not imported here")
def test_smollm2_greedy_equals_transformers():
    model = load_model(str(SMOLLM2), "fp32")
    tokenizer = AutoTokenizer.from_pretrained(str(SMOLLM2))
    texts = [json.loads(line)["prompt"] for line in IFEVAL.read_text().splitlines()[:4]]
    requests = [{"key": str(i), "prompt_ids": tokenizer.apply_chat_template(
        [{"role": "user", "content": t}], add_generation_prompt=True, tokenize=True, return_dict=False)}
        for i, t in enumerate(texts)]
    fast = run(model, requests, "fast", max_new_tokens=16)
    assert tokens(fast) == tokens(run(model, requests, "transformers", max_new_tokens=16, batch_size=4))


def test_a_step_with_every_row_done_changes_nothing_the_next_step_would_not(model, requests):
    """What CUDA-graph capture relies on (graphs.py): its warm-up run, with all rows marked done,
    leaves the rows' state alone and writes only the K/V the next real step writes anyway."""
    from kielo_engine.decode.engine import Loop
    from kielo_engine.decode.weights import extract_weights

    prompts = [r["prompt_ids"] for r in requests[:6]]
    with torch.no_grad():
        loop = Loop(extract_weights(model), prompts, max_new_tokens=12, temperature=0.7, top_p=0.9, seed=1,
                    stop_token_ids=[], max_rows=None, options=FastOptions())
        loop.admit()
        loop.decode_some()
        state, decoder, step = loop.state, loop.decoder, loop.runner.step
        batch, width = 6, loop.length
        before = [t.clone() for t in state.tensors()]
        caches = decoder.k_cache.clone(), decoder.v_cache.clone()
        done = state.done[:batch].clone()
        state.done[:batch] = True
        step(batch, width)
        state.done[:batch] = done
        after = [t.clone() for t in state.tensors()]
        assert all(torch.equal(a, b) for a, b in zip(before, after)), "no row moved on"
        rows, positions = torch.arange(batch), state.positions[:batch].clone()
        written = decoder.k_cache[:, rows, :, positions].clone(), decoder.v_cache[:, rows, :, positions].clone()
        for cache, old in zip((decoder.k_cache, decoder.v_cache), caches):
            changed = (cache != old).any(dim=-1).any(dim=2)  # [layers, slots, positions]
            where = changed.nonzero().tolist()
            assert {(s, p) for _, s, p in where} <= {(s, int(positions[s])) for s in range(batch)}
        step(batch, width)  # the real step: the same K and V at those positions, and every row advances
        assert torch.equal(decoder.k_cache[:, rows, :, positions], written[0])
        assert torch.equal(decoder.v_cache[:, rows, :, positions], written[1])
        assert torch.equal(state.generated[:batch], before[2][:batch] + 1)


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_the_triton_kernel_compiles_for_hopper(dtype):
    """Without a GPU: Triton lowers the kernel and its bundled ptxas assembles it for sm_90 (H100/H200)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from kielo_engine.decode.triton_attention import (
        BLOCK,
        GROUP_ROWS,
        _decode_attention_kernel,
    )

    pointers = {name: f"*{dtype}" for name in ("Q", "K", "V", "O")}
    strides = {name: "i32" for name in ("stride_qb", "stride_qh", "stride_kb", "stride_kh", "stride_kt", "stride_ob",
                                        "stride_oh")}
    constants = {"GROUPS": 3, "DIM": 64, "DIM_P": 64, "BLOCK_N": BLOCK, "ROWS": GROUP_ROWS, "IEEE": dtype == "fp32",
                 "INTERPRETED": False}
    signature = {**pointers, "POSITIONS": "*i64", **strides, "scale": "fp32", **dict.fromkeys(constants, "constexpr")}
    compiled = triton.compile(ASTSource(fn=_decode_attention_kernel, signature=signature, constexprs=constants),
                              target=GPUTarget("cuda", 90, 32))
    assert compiled.asm["cubin"] and "sm_90" in compiled.asm["ptx"]
