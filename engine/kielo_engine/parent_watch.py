"""The engine dies with the kielo process that started it.

kielo starts the engine in its own process group (so that a terminal's Ctrl-C reaches kielo only,
which forwards it once). When kielo is killed outright (SIGKILL, an out-of-memory kill) it cannot
stop the engine, which would run on with nobody reading its output. kielo passes its pid in
`KIELO_PARENT_PID`; a daemon thread checks about twice a second that it still runs, and ends this
process when it does not. This works under torchrun too, where the workers' direct parent is
torchrun: each worker watches kielo itself, and torchrun ends when its workers are gone.
"""

from __future__ import annotations

import os
import threading

ENV = "KIELO_PARENT_PID"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def watch_parent(poll_seconds: float = 0.5) -> bool:
    """Start watching the pid in KIELO_PARENT_PID; False when there is none to watch."""
    value = os.environ.get(ENV, "")
    if not value.isdigit():
        return False
    pid = int(value)
    started_under = os.getppid()

    def run() -> None:
        while True:
            threading.Event().wait(poll_seconds)
            # Reparented (our direct parent was kielo and is gone), or kielo itself is gone.
            if (started_under == pid and os.getppid() != pid) or not _alive(pid):
                os._exit(1)

    threading.Thread(target=run, name="kielo-parent-watch", daemon=True).start()
    return True
