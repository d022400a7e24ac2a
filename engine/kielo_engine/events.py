"""Events: one JSON object per line in JOB/events.jsonl, also printed to stdout (docs/formats.md §3).

The kielo CLI reads stdout live (progress bar, SQLite rows) and the file survives for later
inspection and for a resumed run, which appends to it. Each line is flushed (and the file fsynced)
as it is written, so a killed run leaves every event it emitted and nothing half-written beyond
the last line. Only the process that owns the log (rank 0 under torchrun) writes; other ranks get
a sink that drops events.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import IO, Any


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: such a number is written as null (the `error` event says why)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _drop_partial_last_line(path: str) -> None:
    """A run killed in the middle of a write can leave half a line; a resumed run appends after
    it, so cut the log back to its last complete line first."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return
        f.truncate(data.rfind(b"\n") + 1)


class EventLog:
    def __init__(self, path: str | None, stdout: IO[str] | None = None, enabled: bool = True):
        self.enabled = enabled
        self._stdout = stdout if stdout is not None else sys.stdout
        self._file = None
        if enabled and path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            _drop_partial_last_line(path)
            self._file = open(path, "a", encoding="utf-8")

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type, "time": round(time.time(), 3), **_clean(fields)}
        if not self.enabled:
            return event
        line = json.dumps(event, ensure_ascii=False, allow_nan=False)
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        self._stdout.write(line + "\n")
        self._stdout.flush()
        return event

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
