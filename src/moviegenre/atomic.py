"""Atomic file writes: a killed job never leaves a half-written output under its real name.

Every output is written under a temporary name beside it
(`.<name>.tmp-<host>-<pid>-<token>[suffix]`), then renamed over the target. The next write
of the same target removes the temporaries of writers that are gone (a process of this
host that no longer exists); a live writer's temporary, or one from another host (a shared
file system: its process cannot be checked from here), is left alone, so two concurrent
writers of one target never delete each other's file mid-write.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _host() -> str:
    """This machine's name, reduced to characters that cannot be confused with the '-'s."""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "localhost"


def temporary_path(path: Path, suffix: str = "") -> Path:
    """The temporary name for `path` (suffix for writers that need an extension)."""
    token = secrets.token_hex(4)  # two threads of one process never share a name
    return path.parent / f".{path.name}.tmp-{_host()}-{os.getpid()}-{token}{suffix}"


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host may still run (also the Snakemake lock owner's).

    A process of another user, or a number no process can have, counts as alive: what
    belongs to it is kept rather than removed from under a writer that may exist.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # exists (another user's), or not a pid we can check: keep it
    return True


def writer_is_gone(leftover: Path, target: Path) -> bool:
    """Whether the process that wrote `leftover` (a temporary of `target`) has ended.

    A `.tmp-<pid>` name, without host and token, is not one this module writes: no writer
    of it can still be running, so it is taken for a killed write.
    """
    tail = leftover.name[len(f".{target.name}.tmp-") :]
    match = re.fullmatch(r"([A-Za-z0-9._]+)-(\d+)-[0-9a-f]{8}(.*)", tail, re.S)
    if match is None:
        return re.fullmatch(r"\d+.*", tail, re.S) is not None  # `.tmp-<pid>`
    host, pid = match.group(1), int(match.group(2))
    return host == _host() and pid != os.getpid() and not pid_alive(pid)


def remove_stale_temporaries(path: Path) -> None:
    """Delete leftovers of interrupted writes of `path` (never read, but they take disk)."""
    path = Path(path)
    for leftover in path.parent.glob(f".{_glob_escape(path.name)}.tmp-*"):
        if writer_is_gone(leftover, path):
            leftover.unlink(missing_ok=True)


def _glob_escape(name: str) -> str:
    """`name` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def write_atomic(path: str | Path, write: Callable[[Path], object], suffix: str = "") -> Path:
    """Call `write(tmp)` then rename tmp onto `path`; on any failure the temporary goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = temporary_path(path, suffix)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: str | Path, payload: Any) -> Path:
    return write_text_atomic(path, json.dumps(payload, indent=2) + "\n")
