"""Stopping cleanly on SIGINT/SIGTERM: the loop finishes the current step, checkpoints and stops."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StopRequest:
    requested: bool = False
    signal_name: str = ""
    previous: dict[int, Any] = field(default_factory=dict)

    def install(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            self.requested = True
            self.signal_name = signal.Signals(signum).name
            # A second signal stops at once (the default action).
            signal.signal(signum, signal.SIG_DFL)

        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, handler)

    def uninstall(self) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
        self.previous.clear()
