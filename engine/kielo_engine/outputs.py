"""Writing what the engine produces: whole or not at all.

One place for the three ways the engine publishes a result — a small file (job metadata,
precomputed log-probs, config.json), a JSONL file (generation results), and a model folder
(training output, merge, import) — and for the list of files that make a model folder's
tokenizer. Each is written under a temporary name in the destination's own folder (so the final
rename never crosses file systems), fsynced, and renamed into place; a crash or Ctrl-C leaves the
old result or nothing, never half of a new one, and the temporary is removed on the way out.

A process killed outright cannot remove its temporary folder. Those are named as kielo names its
own (`.name.tmp-<host>-<pid>-<n>`, src/util/atomic.ts), so that the next writer of the same output
— the engine here, or the kielo CLI — removes the ones whose process no longer runs on this host.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import socket
from collections.abc import Iterable, Iterator

_HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"
_counter = itertools.count(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(out: str) -> list[str]:
    """Remove `.name.tmp-<host>-<pid>-<n>[.old]` siblings of `out` left by dead processes of this host."""
    parent, name = os.path.split(os.path.abspath(out))
    pattern = re.compile(rf"^\.{re.escape(name)}\.tmp-(.+)-(\d+)-(\d+)(\.old)?$")
    removed = []
    for entry in os.listdir(parent) if os.path.isdir(parent) else []:
        match = pattern.match(entry)
        if match is None or match.group(1) != _HOST:
            continue
        pid = int(match.group(2))
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)
        removed.append(entry)
    return removed

# Every file transformers reads for a tokenizer and its chat template (transformers 5 writes the
# template to chat_template.jinja; older folders keep it in tokenizer_config.json).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)


# transformers 5 keeps named chat templates as additional_chat_templates/<name>.jinja.
TOKENIZER_FOLDERS = ("additional_chat_templates",)


def copy_tokenizer_files(source: str, destination: str, *, overwrite: bool = True) -> list[str]:
    """Copy the tokenizer and chat-template files (and folders) of `source` that exist; returns their names."""
    return copy_model_files(source, destination, TOKENIZER_FILES + TOKENIZER_FOLDERS, overwrite=overwrite)


def copy_model_files(source: str, destination: str, names: Iterable[str], *, overwrite: bool = True) -> list[str]:
    """Copy those of `names` that exist in `source`; returns the names copied."""
    copied = []
    for name in names:
        src = os.path.join(source, name)
        dst = os.path.join(destination, name)
        if overwrite or not os.path.exists(dst):
            if os.path.isfile(src):
                shutil.copyfile(src, dst)
                copied.append(name)
            elif os.path.isdir(src):
                shutil.copytree(src, dst, dirs_exist_ok=True)
                copied.append(name)
    return copied


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{_HOST}-{os.getpid()}-{next(_counter)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str, value: object) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


def atomic_write_jsonl(path: str, rows: Iterable[object]) -> None:
    atomic_write_bytes(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8"))


@contextlib.contextmanager
def atomic_folder(out: str) -> Iterator[str]:
    """`with atomic_folder(out) as tmp:` fill `tmp`; on success it replaces `out` (an existing
    folder is moved aside first and removed once the new one is in place); on any error the
    temporary folder is removed and `out` is left as it was."""
    out = os.path.abspath(out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    remove_stale_temporaries(out)
    tmp = os.path.join(parent, f".{os.path.basename(out)}.tmp-{_HOST}-{os.getpid()}-{next(_counter)}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        yield tmp
        for name in os.listdir(tmp):
            path = os.path.join(tmp, name)
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        _fsync_dir(tmp)
        old = None
        if os.path.lexists(out):
            old = f"{tmp}.old"
            os.makedirs(old)
            os.rename(out, os.path.join(old, "previous"))
        os.rename(tmp, out)
        _fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
