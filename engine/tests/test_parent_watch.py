"""The engine dies with the kielo process that started it, even when that one is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import ENGINE_DIR

CHILD = "from kielo_engine.parent_watch import watch_parent; import threading; assert watch_parent(0.2); print('watching', flush=True); threading.Event().wait(600)"
PARENT = """
import os, subprocess, sys, threading
env = dict(os.environ, KIELO_PARENT_PID=str(os.getpid()))
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
assert child.stdout.readline().strip() == "watching"
print(child.pid, flush=True)
threading.Event().wait(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigkill_of_the_parent_ends_the_engine_within_seconds():
    env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], env=env, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    killed = time.monotonic()
    while alive(child) and time.monotonic() - killed < 10:
        time.sleep(0.1)
    assert not alive(child), "the engine outlived kielo"
    assert time.monotonic() - killed < 3


def test_without_a_parent_pid_nothing_is_watched():
    env = {k: v for k, v in os.environ.items() if k != "KIELO_PARENT_PID"}
    code = "import sys; from kielo_engine.parent_watch import watch_parent; sys.exit(0 if watch_parent() is False else 1)"
    assert subprocess.run([sys.executable, "-c", code], env=dict(env, PYTHONPATH=str(ENGINE_DIR))).returncode == 0


def test_a_pid_that_is_neither_an_ancestor_nor_kielo_is_not_watched():
    # Another node of a multi-node job gets kielo's pid with the environment; there it names some
    # unrelated process (here: a sibling), which must neither be watched nor end the engine.
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        code = "import sys; from kielo_engine.parent_watch import watch_parent; sys.exit(0 if watch_parent() is False else 1)"
        env = dict(os.environ, PYTHONPATH=str(ENGINE_DIR), KIELO_PARENT_PID=str(sibling.pid))
        assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
    finally:
        sibling.kill()
        sibling.wait()
