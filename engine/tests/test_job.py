"""job.json validation: every error is a `bad-job` EngineError naming the field and the expectation."""

from __future__ import annotations

import copy
import json

import pytest

from conftest import base_job
from kielo_engine.errors import EngineError
from kielo_engine.job import load_job, parse_job


@pytest.fixture
def job(tmp_path):
    return base_job("/models/tiny", tmp_path)


def error_of(obj, tmp_path) -> EngineError:
    with pytest.raises(EngineError) as info:
        parse_job(obj, str(tmp_path))
    assert info.value.kind == "bad-job"
    return info.value


def test_a_valid_job_parses_with_paths_resolved(job, tmp_path):
    job["output"]["dir"] = "model"  # relative: resolved against the job folder
    parsed = parse_job(job, str(tmp_path))
    assert parsed.method == "sft" and parsed.seed == 42
    assert parsed.output.dir == str(tmp_path / "model")
    assert parsed.optim.betas == (0.9, 0.999)
    assert parsed.schedule_path == str(tmp_path / "schedule.bin")
    assert parsed.adapter is None and parsed.dpo is None


@pytest.mark.parametrize(
    ("mutate", "field", "expected"),
    [
        (lambda j: j.update(format="other"), "`format`", '"kielo-job"'),
        (lambda j: j.update(version=2), "`version`", "1"),
        (lambda j: j.update(method="ppo"), "`method`", '"sft", "dpo"'),
        (lambda j: j["model"].update(dtype="int8"), "`model.dtype`", '"bf16", "fp16", "fp32"'),
        (lambda j: j["optim"].update(lr="fast"), "`optim.lr`", "a finite number"),
        (lambda j: j["optim"].update(betas=[0.9]), "`optim.betas`", "two numbers"),
        (lambda j: j["optim"].update(warmup_ratio=1.5), "`optim.warmup_ratio`", "≤ 1"),
        (lambda j: j["optim"].update(schedule="step"), "`optim.schedule`", '"cosine"'),
        (lambda j: j.update(steps=0), "`steps`", "≥ 1"),
        (lambda j: j.update(steps=True), "`steps`", "an integer"),
        (lambda j: j.update(keep_checkpoints=0), "`keep_checkpoints`", "≥ 1"),
        (lambda j: j.update(method="dpo"), "`dpo`", 'when `method` is "dpo"'),
        (lambda j: j["output"].update(save="adapter"), "`output.save`", '"full" when `adapter` is null'),
        (lambda j: j.update(adapter={"type": "lora", "r": 0, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear", "quant": None}), "`adapter.r`", "≥ 1"),
        (lambda j: j.update(adapter={"type": "lora", "r": 4, "alpha": 16, "dropout": 0.0, "target_modules": [], "quant": None}), "`adapter.target_modules`", "non-empty list"),
        (lambda j: j.update(adapter={"type": "qlora", "r": 4, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear", "quant": None}), "`adapter.quant`", '"qlora"'),
        (lambda j: j.update(method="dpo", dpo={"beta": 0.1, "loss": "sigmoid", "label_smoothing": 0, "reference": "adapter-disabled"}), "`dpo.reference`", "full fine-tuning"),
        (lambda j: j.update(method="dpo", dpo={"beta": -1, "loss": "sigmoid", "label_smoothing": 0, "reference": "frozen-copy"}), "`dpo.beta`", "> 0"),
        (lambda j: j.update(eval={"every_steps": 0}), "`eval.every_steps`", "≥ 1"),
        (lambda j: j["model"].update(dtype="fp16"), "`model.dtype`", "full fine-tuning"),
    ],
)
def test_bad_fields_are_named(job, tmp_path, mutate, field, expected):
    bad = copy.deepcopy(job)
    mutate(bad)
    err = error_of(bad, tmp_path)
    assert field in err.message, err.message
    assert expected in err.message, err.message


def test_missing_field_is_named(job, tmp_path):
    del job["optim"]["eps"]
    err = error_of(job, tmp_path)
    assert "`optim.eps` is missing" in err.message


def test_load_job_reports_json_syntax_with_line(tmp_path):
    (tmp_path / "job.json").write_text('{\n  "format": "kielo-job",\n  oops\n}')
    with pytest.raises(EngineError) as info:
        load_job(str(tmp_path))
    assert info.value.kind == "bad-job"
    assert "job.json: line 3" in info.value.message


def test_load_job_without_job_json(tmp_path):
    with pytest.raises(EngineError) as info:
        load_job(str(tmp_path))
    assert "job.json: missing" in info.value.message


def test_load_job_round_trip(job, tmp_path):
    (tmp_path / "job.json").write_text(json.dumps(job))
    assert load_job(str(tmp_path)).steps == job["steps"]
