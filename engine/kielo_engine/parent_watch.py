"""The engine dies with the kielo process that started it.

kielo starts the engine in its own process group (so that a terminal's Ctrl-C reaches kielo only,
which forwards it once). When kielo is killed outright (SIGKILL, an out-of-memory kill) it cannot
stop the engine, which would run on with nobody reading its output. kielo passes its pid in
`KIELO_PARENT_PID`; a daemon thread checks about twice a second that it still runs, and ends this
process when it does not. This works under torchrun too, where the workers' direct parent is
torchrun: each worker watches kielo itself, and torchrun ends when its workers are gone.

Only kielo is watched: an ancestor of this process, or a process on this host whose command line
names kielo (under `srun` the workers descend from slurmstepd, not from kielo). On the other nodes
of a multi-node job (docs/multi-node.md) the variable arrives with the environment, but there that
pid is absent or an unrelated process; those workers end with the job through torchrun and srun.
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


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _is_ancestor(pid: int) -> bool:
    current = os.getppid()
    for _ in range(64):  # a process tree is never this deep; guards against a loop
        if current == pid:
            return True
        if current <= 1:
            return False
        current = _parent_of(current)
    return False


def _runs_kielo(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    # The CLI runs as `node …/bin/kielo.js …` (or the `kielo` link npx runs): an argument naming it,
    # not "kielo" anywhere, which any process started from a checkout in a folder named kielo has.
    return any(os.path.basename(arg) in (b"kielo.js", b"kielo") for arg in args)


def watch_parent(poll_seconds: float = 0.5) -> bool:
    """Start watching the pid in KIELO_PARENT_PID; False when there is none to watch (unset, or
    not kielo on this host: another node's pid)."""
    value = os.environ.get(ENV, "")
    if not value.isdigit() or not (_is_ancestor(int(value)) or _runs_kielo(int(value))):
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
