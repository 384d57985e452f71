"""Logging for stage scripts: progress to the terminal and to the rule's log file."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send moviegenre's log lines to stderr and, when given, to a log file (appended)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        handlers=handlers,
        force=True,
    )


def capture_rule_log(log_file: str | Path, level: int = logging.INFO) -> None:
    """Send this process's stdout and stderr to a Snakemake rule's log file.

    At the file-descriptor level, so the log also holds what bypasses Python's logging:
    TensorFlow's C++ messages, warnings, and the traceback of an uncaught exception.
    Snakemake shows the file on failure (show-failed-logs); on a cluster it is the one
    place a job's errors are kept.
    """
    path = Path(log_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, sys.stdout.fileno())
    os.dup2(fd, sys.stderr.fileno())
    os.close(fd)
    setup_logging(level=level)


def log_problems(
    logger: logging.Logger, problems: Mapping[str, Sequence[str]], prefix: str = ""
) -> None:
    """A warning per kind of problem that has items: how many, and the first ten ids.

    The full lists go to the report file beside the log; the log line only points at them.
    """
    for key, items in problems.items():
        if items:
            shown = ", ".join(items[:10]) + (" ..." if len(items) > 10 else "")
            logger.warning(prefix + "%s: %d (%s)", key.replace("_", " "), len(items), shown)
