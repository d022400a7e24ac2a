"""`kielo_engine score`: classification and embeddings, batched, equal to one-at-a-time runs."""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from scorer_models import make_classifier

from kielo_engine.score import main as score_main

SEQUENCES = [[1, 403, 261, 378, 259], [1, 72, 31, 330], [1, 403], [1, 259, 378, 261, 403, 72, 31, 330, 50]]


def run(tmp_path, task: str, model: str, batch_size: int) -> list[dict]:
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps({"key": f"k{i}", "ids": ids}) + "\n" for i, ids in enumerate(SEQUENCES)))
    output = tmp_path / f"{task}-{batch_size}.jsonl"
    assert score_main(["--task", task, "--model", model, "--input", str(requests), "--output", str(output),
                       "--batch-size", str(batch_size), "--device", "cpu"]) == 0
    return [json.loads(line) for line in output.read_text().splitlines()]


def test_classify_batched_equals_unpadded(tmp_path, capsys):
    folder = make_classifier(tmp_path / "classifier")
    batched = run(tmp_path, "classify", folder, batch_size=4)
    capsys.readouterr()
    assert [r["key"] for r in batched] == ["k0", "k1", "k2", "k3"]
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    for ids, result in zip(SEQUENCES, batched):
        assert set(result["probs"]) == {"non-toxic", "toxic"}
        with torch.no_grad():
            expected = torch.softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
        assert result["probs"]["toxic"] == pytest.approx(expected[1].item(), abs=1e-5)
        assert sum(result["probs"].values()) == pytest.approx(1.0, abs=1e-6)


def test_embed_mean_pools_and_normalises(tmp_path, tiny_model_path, capsys):
    batched = run(tmp_path, "embed", tiny_model_path, batch_size=3)
    capsys.readouterr()
    model = transformers.AutoModel.from_pretrained(tiny_model_path).eval()
    for ids, result in zip(SEQUENCES, batched):
        with torch.no_grad():
            hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0].float()
        expected = torch.nn.functional.normalize(hidden.mean(dim=0), dim=-1)
        assert torch.allclose(torch.tensor(result["embedding"]), expected, atol=1e-5)


def test_missing_model_is_an_error_event(tmp_path, capsys):
    requests = tmp_path / "r.jsonl"
    requests.write_text(json.dumps({"key": "a", "ids": [1, 2]}) + "\n")
    code = score_main(["--task", "embed", "--model", str(tmp_path / "nope"), "--input", str(requests),
                       "--output", str(tmp_path / "o.jsonl"), "--device", "cpu"])
    assert code == 1
    event = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert event["type"] == "error" and event["kind"] == "model-not-found"
