"""reporting.py: the engine's events as TensorBoard scalars, read back with TensorBoard's own reader."""

from __future__ import annotations

import os

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from kielo_engine.events import EventLog
from kielo_engine.reporting import Reporters, scalars


def test_scalars_of_step_and_eval_events():
    step = {"type": "step", "time": 1.0, "step": 3, "loss": 2.5, "lr": 1e-3, "grad_norm": None, "tokens": 40, "flag": True}
    assert scalars(step) == {"train/loss": 2.5, "train/lr": 1e-3, "train/tokens": 40.0}
    assert scalars({"type": "eval", "step": 3, "loss": 2.0}) == {"eval/loss": 2.0}


def test_event_log_feeds_tensorboard(tmp_path, capsys):
    events = EventLog(str(tmp_path / "events.jsonl"), stdout=open(os.devnull, "w"))
    reporters = Reporters(str(tmp_path), "job", spec="tensorboard")
    events.listeners.append(reporters.listen)
    for step, loss in [(1, 3.0), (2, 2.5), (3, 2.25)]:
        events.emit("step", step=step, loss=loss, lr=0.001 * step, grad_norm=1.0, tokens=10, tokens_per_s=100.0)
    events.emit("eval", step=3, loss=2.75)
    events.emit("checkpoint", step=3, path="x")  # not a curve
    reporters.close()
    events.close()
    assert "TensorBoard curves in" in capsys.readouterr().err
    acc = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("train/loss")] == [(1, 3.0), (2, 2.5), (3, 2.25)]
    assert [(e.step, e.value) for e in acc.Scalars("eval/loss")] == [(3, 2.75)]
    assert "train/tokens_per_s" in acc.Tags()["scalars"]


def test_none_writes_nothing_and_unknown_targets_are_refused(tmp_path):
    reporters = Reporters(str(tmp_path), "job", spec="none")
    reporters.listen({"type": "step", "step": 1, "loss": 1.0})
    reporters.close()
    assert not (tmp_path / "tensorboard").exists()
    with pytest.raises(ValueError, match="unknown report target 'comet'"):
        Reporters(str(tmp_path), "job", spec="comet")
