"""Training curves for the usual viewers: TensorBoard event files, and W&B or MLflow when asked.

Which ones is `KIELO_REPORT_TO` (set by `kielo train --report-to`, comma-separated): `tensorboard`
(the default) writes JOB/tensorboard/ through torch.utils.tensorboard (needs the `tensorboard`
package) or else tensorboardX; when neither is installed and TensorBoard was not asked for
explicitly, one info line says so and training goes on. `wandb` and `mlflow` log the same scalars
to their own services; `none` turns reporting off. kielo.db and events.jsonl have every value
anyway: these are views, so they must never stop a training.

Each reporter takes the `step` and `eval` events as they are emitted (EventLog listeners), on the
process that owns the event log only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

# Fields of step/eval events that are not curves.
_NOT_SCALARS = {"type", "time", "step"}


def scalars(event: dict[str, Any]) -> dict[str, float]:
    """`train/loss`, `train/lr`, … of a step event; `eval/loss`, … of an eval event."""
    prefix = "train" if event["type"] == "step" else "eval"
    return {
        f"{prefix}/{key}": float(value)
        for key, value in event.items()
        if key not in _NOT_SCALARS and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def _info(message: str) -> None:
    print(f"kielo engine: {message}", file=sys.stderr, flush=True)


def _summary_writer(logdir: str) -> Any | None:
    try:
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
    except ImportError:
        try:
            from tensorboardX import SummaryWriter  # type: ignore[no-redef]
        except ImportError:
            return None
    return SummaryWriter(log_dir=logdir)


class Reporters:
    """The reporters asked for; `listen` feeds them events, `close` flushes them."""

    def __init__(self, job_dir: str, label: str, spec: str | None = None):
        wanted = [name.strip() for name in (spec if spec is not None else os.environ.get("KIELO_REPORT_TO", "")).split(",") if name.strip()]
        explicit = bool(wanted)
        if not wanted:
            wanted = ["tensorboard"]
        self._closers: list[Callable[[], None]] = []
        self._loggers: list[Callable[[dict[str, float], int], None]] = []
        if "none" in wanted:
            return
        for name in wanted:
            if name == "tensorboard":
                logdir = os.path.join(job_dir, "tensorboard")
                writer = _summary_writer(logdir)
                if writer is None:
                    message = "TensorBoard curves not written: neither tensorboard nor tensorboardX is installed (pip install tensorboard)"
                    if explicit:
                        raise RuntimeError(message)
                    _info(message)
                    continue
                _info(f"TensorBoard curves in {logdir}")

                def log_tb(values: dict[str, float], step: int, writer: Any = writer) -> None:
                    for tag, value in values.items():
                        writer.add_scalar(tag, value, step)
                    writer.flush()  # a live `tensorboard --logdir` sees each step

                self._loggers.append(log_tb)
                self._closers.append(writer.close)
            elif name == "wandb":
                import wandb  # asked for explicitly; `kielo train` checked that it is installed

                run = wandb.init(project=os.environ.get("WANDB_PROJECT", "kielo"), name=label, dir=job_dir, resume="allow")
                self._loggers.append(lambda values, step, run=run: run.log(values, step=step))
                self._closers.append(run.finish)
            elif name == "mlflow":
                import mlflow  # asked for explicitly; `kielo train` checked that it is installed

                mlflow.start_run(run_name=label)
                self._loggers.append(lambda values, step: mlflow.log_metrics(values, step=step))
                self._closers.append(mlflow.end_run)
            else:
                raise ValueError(f"unknown report target {name!r} (tensorboard, wandb, mlflow or none)")

    def listen(self, event: dict[str, Any]) -> None:
        if event["type"] not in ("step", "eval") or not self._loggers:
            return
        values = scalars(event)
        for log in self._loggers:
            log(values, int(event["step"]))

    def close(self) -> None:
        for close in self._closers:
            close()
        self._closers = []
