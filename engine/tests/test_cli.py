"""`python -m kielo_engine`: version, check, usage, and `run` on a bad job (one error event, exit 1)."""

from __future__ import annotations

import json
import os

from conftest import read_events, run_engine
from kielo_engine import __version__


def test_version():
    result = run_engine("--version")
    assert result.returncode == 0 and result.stdout.strip() == __version__


def test_check_prints_torch_and_gpu_facts_as_json():
    result = run_engine("check")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    import torch

    assert torch.__version__.startswith(facts["torch"])
    assert facts["cuda_available"] == torch.cuda.is_available()
    assert isinstance(facts["gpus"], list) and facts["engine_version"] == __version__
    assert facts["transformers"] and facts["peft"]


def test_unknown_command_prints_usage():
    result = run_engine("fly")
    assert result.returncode == 2 and "unknown command 'fly'" in result.stderr and "run JOB_DIR" in result.stderr


def test_run_on_a_bad_job_is_one_error_event_and_no_traceback(tmp_path):
    (tmp_path / "job.json").write_text(json.dumps({"format": "kielo-job", "version": 1, "method": "rlhf"}))
    result = run_engine("run", str(tmp_path))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["type"] == "error" and lines[0]["kind"] == "bad-job"
    assert "`method`" in lines[0]["message"] and '"sft", "dpo"' in lines[0]["message"]
    assert "Traceback" not in result.stderr
    assert read_events(tmp_path) == lines  # the same event is in events.jsonl


def test_run_on_a_missing_folder(tmp_path):
    result = run_engine("run", str(tmp_path / "nope"))
    assert result.returncode == 1
    event = json.loads(result.stdout.splitlines()[-1])
    assert event["kind"] == "bad-job" and "no such job folder" in event["message"]


def test_a_half_written_last_event_is_cut_before_appending(tmp_path):
    from kielo_engine.events import EventLog

    path = tmp_path / "events.jsonl"
    path.write_text('{"type": "start", "time": 1}\n{"type": "st')  # killed mid-line
    log = EventLog(str(path), stdout=open(os.devnull, "w"))
    log.emit("step", step=1, loss=float("nan"), lr=1e-3, grad_norm=1.0, tokens=4, trained_tokens=2, tokens_per_s=None)
    log.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["type"] for e in lines] == ["start", "step"]
    assert lines[1]["loss"] is None  # JSON has no NaN


def test_generate_and_merge_are_dispatched_to_their_modules():
    for command, flag in (("generate", "--max-new-tokens"), ("merge", "--adapter")):
        result = run_engine(command, "--help")
        assert result.returncode == 0, result.stderr
        assert f"python -m kielo_engine {command}" in result.stdout and flag in result.stdout
