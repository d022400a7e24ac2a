"""Events: one JSON object per line in JOB/events.jsonl, also printed to stdout (docs/formats.md §3).

The kielo CLI reads stdout live (progress bar, SQLite rows) and the file survives for later
inspection and for a resumed run, which appends to it. Each line is flushed (and the file fsynced)
as it is written, so a killed run leaves every event it emitted and nothing half-written beyond
the last line. Only the process that owns the log (rank 0 under torchrun) writes; other ranks get
a sink that drops events.

The events are defined once, in TypeScript (src/engine/events.ts); `events.schema.json` next to this
file is generated from that definition. With `KIELO_CHECK_EVENTS=1` (set by the engine's tests)
every event is validated against it as it is emitted — an event or field the CLI does not know
fails the test that emitted it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.schema.json")
_schema: Any = None


def check_event(event: dict[str, Any]) -> None:
    """Validate an event (as it will be written) against events.schema.json when KIELO_CHECK_EVENTS=1."""
    if os.environ.get("KIELO_CHECK_EVENTS") != "1":
        return
    global _schema
    import jsonschema  # a test-time peer (requirements-test.txt), never needed otherwise

    if _schema is None:
        with open(SCHEMA_PATH, encoding="utf-8") as f:
            _schema = json.load(f)
    jsonschema.validate(json.loads(json.dumps(event)), _schema)


def print_event(event: dict[str, Any], stdout: IO[str] | None = None) -> None:
    """One event as one stdout line, for commands without an event log (generate, merge)."""
    event.setdefault("time", round(time.time(), 3))
    event = _clean(event)
    check_event(event)
    out = stdout if stdout is not None else sys.stdout
    out.write(json.dumps(event, ensure_ascii=False, allow_nan=False) + "\n")
    out.flush()


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
        # Called with each event after it is written (reporting.py: TensorBoard, W&B, MLflow).
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._stdout = stdout if stdout is not None else sys.stdout
        self._file = None
        # A watcher thread may report another rank's failure while the main thread writes.
        self._lock = threading.Lock()
        if enabled and path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            _drop_partial_last_line(path)
            self._file = open(path, "a", encoding="utf-8")

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type, "time": round(time.time(), 3), **_clean(fields)}
        check_event(event)
        if not self.enabled:
            return event
        line = json.dumps(event, ensure_ascii=False, allow_nan=False)
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
                os.fsync(self._file.fileno())
            self._stdout.write(line + "\n")
            self._stdout.flush()
        for listener in self.listeners:
            listener(event)
        return event

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
