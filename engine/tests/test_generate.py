"""Generation: batched = unbatched greedy, greedy = a plain argmax loop, seeded sampling, stops, CLI."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoTokenizer

from kielo_engine import generate as gen
from kielo_engine import sampling
from kielo_engine.modeling import load_model

STORY_OPENINGS = [
    "Once upon a time, there was a little girl named Lily.",
    "Tom had a red ball.",
    "One day, a big dog came to the park and saw a cat sitting under a tree. The cat",
    "The sun was",
]


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return load_model(tiny_model_path, "fp32")


@pytest.fixture(scope="module")
def requests(tiny_model_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    return [{"key": f"story-{i}", "prompt_ids": tokenizer(text).input_ids} for i, text in enumerate(STORY_OPENINGS)]


def run(model, requests, **overrides):
    settings = dict(max_new_tokens=12, temperature=0.0, top_p=1.0, seed=0, batch_size=4, stop_token_ids=[2])
    settings.update(overrides)
    return gen.generate(model, requests, **settings)


def argmax_loop(model, prompt_ids, steps):
    """Greedy decoding the slow, obvious way: full forward each step, no cache, no padding."""
    ids = list(prompt_ids)
    with torch.no_grad():
        for _ in range(steps):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
    return ids[len(prompt_ids) :]


def test_greedy_equals_a_plain_argmax_loop(model, requests):
    results = run(model, requests, stop_token_ids=[], max_new_tokens=12, batch_size=4)
    for request, result in zip(requests, results, strict=True):
        assert result["output_ids"] == argmax_loop(model, request["prompt_ids"], 12), request["key"]
        assert result["finish_reason"] == "length"


def test_batched_greedy_equals_unbatched_greedy_token_for_token(model, requests):
    one_by_one = run(model, requests, batch_size=1, max_new_tokens=16)
    batched = run(model, requests, batch_size=4, max_new_tokens=16)
    uneven = run(model, requests, batch_size=3, max_new_tokens=16)
    assert [r["output_ids"] for r in batched] == [r["output_ids"] for r in one_by_one]
    assert [r["output_ids"] for r in uneven] == [r["output_ids"] for r in one_by_one]
    assert [r["key"] for r in batched] == [r["key"] for r in requests]  # input order, not length order


def test_stop_tokens_cut_the_output_and_are_excluded(model, requests):
    free = run(model, requests[:1], stop_token_ids=[], max_new_tokens=16)[0]["output_ids"]
    stop = free[5]
    first = free.index(stop)
    stopped = run(model, requests[:1], stop_token_ids=[stop, 9999], max_new_tokens=16)[0]
    assert stopped["output_ids"] == free[:first]
    assert stopped["finish_reason"] == "stop"
    short = run(model, requests[:1], stop_token_ids=[], max_new_tokens=3)[0]
    assert short["output_ids"] == free[:3] and short["finish_reason"] == "length"


def test_seeded_sampling_is_reproducible_and_independent_of_batching(model, requests):
    requests = requests[:3]
    a = run(model, requests, temperature=1.0, top_p=0.9, seed=7, batch_size=3)
    b = run(model, requests, temperature=1.0, top_p=0.9, seed=7, batch_size=3)
    alone = run(model, requests, temperature=1.0, top_p=0.9, seed=7, batch_size=1)
    other = run(model, requests, temperature=1.0, top_p=0.9, seed=8, batch_size=3)
    greedy = run(model, requests, batch_size=3)
    assert a == b
    assert [r["output_ids"] for r in alone] == [r["output_ids"] for r in a]
    assert [r["output_ids"] for r in other] != [r["output_ids"] for r in a]
    assert [r["output_ids"] for r in greedy] != [r["output_ids"] for r in a]


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    probs = torch.tensor([0.05, 0.5, 0.15, 0.3])
    torch.testing.assert_close(sampling.top_p_filter(probs, 0.8), torch.tensor([0.0, 0.625, 0.0, 0.375]))
    torch.testing.assert_close(sampling.top_p_filter(probs, 0.5), torch.tensor([0.0, 1.0, 0.0, 0.0]))
    torch.testing.assert_close(sampling.top_p_filter(probs, 1.0), probs)


def test_sample_token_follows_the_softmax_distribution():
    logits = torch.log(torch.tensor([0.1, 0.6, 0.3]))
    generator = torch.Generator().manual_seed(0)
    draws = 3000
    counts = torch.zeros(3)
    for _ in range(draws):
        counts[sampling.sample_token(logits, temperature=1.0, top_p=1.0, generator=generator)] += 1
    expected = torch.tensor([0.1, 0.6, 0.3]) * draws
    chi_square = ((counts - expected) ** 2 / expected).sum().item()
    assert chi_square < 13.8  # p = 0.001 for 2 degrees of freedom
    # Temperature 0.5 squares the odds: [0.1, 0.6, 0.3] → ∝ [0.01, 0.36, 0.09].
    counts = torch.zeros(3)
    for _ in range(draws):
        counts[sampling.sample_token(logits, temperature=0.5, top_p=1.0, generator=generator)] += 1
    expected = torch.tensor([0.01, 0.36, 0.09]) / 0.46 * draws
    assert ((counts - expected) ** 2 / expected).sum().item() < 13.8


@pytest.mark.parametrize("backend", ["fast", "transformers"])
def test_command_line_writes_results_in_input_order(tiny_model_path, requests, tmp_path, capsys, backend):
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in requests))
    target = tmp_path / "out" / "results.jsonl"
    code = gen.main(
        ["--model", tiny_model_path, "--input", str(source), "--output", str(target), "--max-new-tokens", "12",
         "--batch-size", "2", "--device", "cpu", "--stop-token-ids", "2", "--backend", backend]
    )
    assert code == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["key"] for r in rows] == [r["key"] for r in requests]
    assert all(set(r) == {"key", "output_ids", "finish_reason"} for r in rows)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["done"] for e in events if e["type"] == "progress"] == [2, 4]
    # Each backend's done event (checked against the events contract as it was emitted) names it.
    assert events[-1]["type"] == "done" and events[-1]["backend"] == backend
    model = load_model(tiny_model_path, "fp32")
    assert rows[3]["output_ids"] == run(model, [requests[3]], max_new_tokens=12)[0]["output_ids"]


def test_command_line_names_the_bad_line(tiny_model_path, tmp_path, capsys):
    source = tmp_path / "requests.jsonl"
    source.write_text('{"key": "a", "prompt_ids": [1, 2]}\n{"key": "b", "prompt_ids": "hello"}\n')
    target = tmp_path / "results.jsonl"
    code = gen.main(["--model", tiny_model_path, "--input", str(source), "--output", str(target), "--device", "cpu"])
    assert code == 1
    error = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert error["kind"] == "bad-job" and f"{source}:2" in error["message"] and "prompt_ids" in error["message"]
    assert not target.exists()


def test_command_line_applies_an_adapter(tiny_model_path, requests, tmp_path):
    from kielo_engine.lora import apply_lora

    adapted = apply_lora(load_model(tiny_model_path, "fp32"), r=4, alpha=8, dropout=0.0, target_modules="all-linear")
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, parameter in adapted.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
    adapted.save_pretrained(tmp_path / "adapter")
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in requests[:2]))
    target = tmp_path / "results.jsonl"
    argv = ["--model", tiny_model_path, "--adapter", str(tmp_path / "adapter"), "--input", str(source),
            "--output", str(target), "--max-new-tokens", "12", "--device", "cpu"]
    assert gen.main(argv) == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    expected = run(adapted, requests[:2], max_new_tokens=12)
    plain = run(load_model(tiny_model_path, "fp32"), requests[:2], max_new_tokens=12)
    assert [r["output_ids"] for r in rows] == [r["output_ids"] for r in expected]
    assert [r["output_ids"] for r in rows] != [r["output_ids"] for r in plain]
