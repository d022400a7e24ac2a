"""One rank fails or dies: every rank ends within seconds, with that rank's message.

Under torchrun every rank connects to the rendezvous store (MASTER_ADDR:MASTER_PORT, kept by the
torchrun agent, so it outlives the workers) and runs a watcher thread (twice a second):

- A rank that raises publishes its error under `kielo/first-failure` before it exits (the first
  one published wins: a rank whose collective failed because a peer died reports the peer's error,
  not "connection closed"). Every watcher sees the key and ends its process — a rank blocked in a
  collective, waiting for the failed rank (NCCL would wait until its timeout), cannot be reached
  by a Python exception.
- A rank that dies without a word (SIGKILL, the out-of-memory killer, a segfault) is noticed by
  the rank watching it: rank r watches rank r+1 mod W (a ring: each rank is watched once, and the
  store sees O(W) requests). On the same host the watcher checks the process itself (gone, or a
  zombie: at once); across hosts it reads the rank's heartbeat counter in the store and declares
  it dead after `KIELO_RANK_SILENCE` seconds (default 60) without a beat. It then publishes
  `rank-failed` for that rank.
- A rank whose collective fails (the peer's socket closed) waits for the watchers' verdict before
  publishing its own error, so the dead rank is named, not the symptom.

Rank 0 writes the first failure as the `error` event (`rank`, message `rank N: …`); when rank 0 is
the one that died, the rank that noticed writes it. A rank that ends normally (done, interrupted)
says so (`kielo/ended/<r>`) so that its watcher does not take it for dead. Collectives also time
out (`KIELO_DIST_TIMEOUT`, distributed.py), a last resort for a rank that hangs while alive.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

import torch.distributed as tdist

if TYPE_CHECKING:
    from .distributed import Dist

failed = threading.Event()
FAILURE_KEY = "kielo/first-failure"
LOST_MESSAGE = "the process ended without reporting an error (killed by a signal such as SIGKILL, the out-of-memory killer, or a crash)"
SILENT_MESSAGE = "no heartbeat for {seconds:.0f} s (the process hangs, or its host is lost)"
LOST_HINT = "look for the cause in the system log (dmesg: OOM killer) or the scheduler's; run the same command again to resume from the last complete checkpoint"
# Errors of a collective whose peer went away: wait for the watchers to name the dead rank.
_PEER_LOSS = ("connection closed", "connection reset", "broken pipe", "nccl", "gloo", "timed out", "timeout")


class _Events(Protocol):
    def emit(self, type: str, **fields: Any) -> dict[str, Any]: ...


def silence_seconds() -> float:
    return float(os.environ.get("KIELO_RANK_SILENCE", "60"))


def looks_like_peer_loss(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _PEER_LOSS)


def _process_alive(pid: int) -> bool:
    """Alive and not a zombie (a killed child stays a zombie until torchrun reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class RankFailures:
    """`report(fields)` replaces `events.emit("error", **fields)` in the engine's entry point: with
    one process it is exactly that. A coordinated stop (`interrupted`, decided by all ranks
    together) is not a failure and is only emitted."""

    def __init__(self, dist: Dist, events: _Events, poll_seconds: float = 0.5, events_path: str | None = None):
        self.dist = dist
        self.events = events
        self.events_path = events_path
        self._lock = threading.Lock()
        self._reported = False
        self._store: Any = None
        if not dist.enabled:
            return
        try:
            self._store = tdist.TCPStore(
                os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False, timeout=datetime.timedelta(seconds=60)
            )
            self._store.set(f"kielo/proc/{dist.rank}", json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
        except (KeyError, ValueError, RuntimeError) as err:
            print(f"kielo_engine: rank {dist.rank}: cannot watch the other ranks for failures ({err})", file=sys.stderr)
            self._store = None
            return
        self._poll = poll_seconds
        self._silence = silence_seconds()
        self._watched = (dist.rank + 1) % dist.world
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="kielo-rank-failures", daemon=True)
        self._thread.start()

    # ---- the main thread ----------------------------------------------------------------------

    def report(self, fields: dict[str, Any]) -> None:
        if self._store is None or fields.get("kind") == "interrupted":
            self._emit({"rank": self.dist.rank, **fields} if self.dist.enabled else fields)
            return
        if fields.get("kind") == "internal" and looks_like_peer_loss(str(fields.get("message", ""))):
            self._wait_for_verdict(self._silence + 4 * self._poll)
        mine = json.dumps({"rank": self.dist.rank, **fields})
        first = self._publish(mine)
        failed.set()
        self._emit(first)

    def ended(self) -> None:
        """This rank ends: its watcher must not take it for dead, and this rank's watcher thread
        stops before the interpreter does (a daemon thread caught inside a store call while
        Python shuts down aborts the process: "terminate called without an active exception")."""
        if self._store is None:
            return
        try:
            self._store.set(f"kielo/ended/{self.dist.rank}", "1")
        except RuntimeError:
            pass
        self._stop.set()
        self._thread.join(timeout=10 * self._poll)

    def _wait_for_verdict(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self._store.check([FAILURE_KEY]):
                    return
            except RuntimeError:
                return
            time.sleep(self._poll / 2)

    def _publish(self, failure: str) -> dict[str, Any]:
        try:
            return json.loads(self._store.compare_set(FAILURE_KEY, "", failure))
        except (RuntimeError, ValueError):
            return json.loads(failure)

    # ---- the watcher thread -------------------------------------------------------------------

    def _watch(self) -> None:
        beats = 0
        last_seen: tuple[str | None, float] = (None, time.monotonic())
        while not self._stop.wait(self._poll):
            try:
                beats += 1
                self._store.set(f"kielo/beat/{self.dist.rank}", str(beats))
                if self._store.check([FAILURE_KEY]):
                    first = json.loads(self._store.get(FAILURE_KEY))
                    if first.get("rank") == self.dist.rank and not first.get("lost"):
                        continue  # our own report: the main thread is handling it
                    self._end(first)
                last_seen = self._check_watched(last_seen)
            except (RuntimeError, ValueError):
                continue  # the store is gone: torchrun is already ending the job

    def _check_watched(self, last_seen: tuple[str | None, float]) -> tuple[str | None, float]:
        """Publishes `rank-failed` for the watched rank once it is found dead."""
        r, store = self._watched, self._store
        if r == self.dist.rank or store.check([f"kielo/ended/{r}"]):
            return last_seen
        dead, message = False, LOST_MESSAGE
        if store.check([f"kielo/proc/{r}"]):
            proc = json.loads(store.get(f"kielo/proc/{r}"))
            if proc["host"] == socket.gethostname():
                dead = not _process_alive(int(proc["pid"]))
        if not dead:
            beat = store.get(f"kielo/beat/{r}").decode() if store.check([f"kielo/beat/{r}"]) else None
            now = time.monotonic()
            if beat != last_seen[0]:
                return beat, now
            dead = now - last_seen[1] > self._silence
            if dead and store.check([f"kielo/ended/{r}"]):
                return last_seen
            message = SILENT_MESSAGE.format(seconds=now - last_seen[1])
        if dead:
            lost = json.dumps({"rank": r, "kind": "rank-failed", "message": message, "hint": LOST_HINT, "lost": True})
            self._end(self._publish(lost), writer=True)
        return last_seen

    def _end(self, first: dict[str, Any], writer: bool = False) -> None:
        failed.set()
        # Rank 0 writes the event; if rank 0 itself is lost, the rank that noticed writes it.
        self._emit(first, write_for_lost_main=writer and first.get("rank") == 0 and first.get("lost", False))
        sys.stdout.flush()
        sys.stderr.flush()
        # This rank may be blocked inside a collective, waiting for the rank that failed; no
        # Python exception can reach it there, so end the process.
        os._exit(1)

    # ---- output -------------------------------------------------------------------------------

    def _emit(self, failure: dict[str, Any], write_for_lost_main: bool = False) -> None:
        with self._lock:
            if self._reported:
                return
            self._reported = True
        rank = failure.get("rank")
        fields = {k: v for k, v in failure.items() if k not in ("rank", "lost")}
        if self.dist.enabled and rank is not None:
            fields["message"] = f"rank {rank}: {fields.get('message', '')}"
            fields["rank"] = rank
        if self.dist.is_main:
            self.events.emit("error", **fields)
        elif write_for_lost_main:
            from .events import EventLog

            log = EventLog(self.events_path)
            log.emit("error", **fields)
            log.close()
        elif rank == self.dist.rank:
            print(f"{fields.get('kind')}: {fields.get('message')}", file=sys.stderr)
