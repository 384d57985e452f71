"""Atomic file writes: a killed job never leaves a half-written output under its real name.

Every output is written under a temporary name beside it (`.<name>.tmp-<pid>[suffix]`),
then renamed over the target. The next write of the same target removes temporaries a
killed earlier write left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def temporary_path(path: Path, suffix: str = "") -> Path:
    """The temporary name for `path` (suffix for writers that need an extension)."""
    return path.parent / f".{path.name}.tmp-{os.getpid()}{suffix}"


def remove_stale_temporaries(path: Path) -> None:
    """Delete leftovers of an interrupted write of `path` (never read, but they take disk)."""
    for leftover in Path(path).parent.glob(f".{Path(path).name}.tmp-*"):
        leftover.unlink(missing_ok=True)


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
