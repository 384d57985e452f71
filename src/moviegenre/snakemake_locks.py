"""Recover from a killed Snakemake run without `snakemake --unlock`.

A SIGKILLed (or node-lost) run leaves `.snakemake/locks/` behind, and the next run refuses
to start. The Snakefile records which process holds the lock (host and pid) when a run
starts and forgets it when the run ends; at parse time, locks whose recorded owner is on
this host and no longer alive are removed. A live run's locks, or another host's, are
never touched, so two concurrent runs are still refused.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from moviegenre.atomic import pid_alive

STATE = Path(".snakemake")
OWNER_FILE = STATE / "moviegenre-lock-owner"


def record_owner(workdir: Path = Path(".")) -> None:
    """Called from `onstart`: this process holds the workflow's locks."""
    owner = workdir / OWNER_FILE
    owner.parent.mkdir(parents=True, exist_ok=True)
    owner.write_text(f"{socket.gethostname()} {os.getpid()}\n")


def forget_owner(workdir: Path = Path(".")) -> None:
    """Called from `onsuccess` / `onerror`: Snakemake releases its locks itself."""
    (workdir / OWNER_FILE).unlink(missing_ok=True)


def clear_stale_locks(workdir: Path = Path(".")) -> bool:
    """Remove locks left by a dead run on this host; True if any were removed."""
    owner = workdir / OWNER_FILE
    if not owner.exists():
        return False
    try:
        host, pid = owner.read_text().split()
        pid_number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname() or pid_alive(pid_number):
        return False
    locks = list((workdir / STATE / "locks").glob("*"))
    for lock in locks:
        lock.unlink(missing_ok=True)
    owner.unlink(missing_ok=True)
    return bool(locks)
