"""Shared fixtures; the shared helpers they use live in helpers.py.

The trained copy is built once per test session and shared (read-only) by the tests that
need trained models.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers import copy_repo, run


@pytest.fixture(scope="session")
def trained_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy where `dvc repro` has run the whole tiny pipeline once (do not modify)."""
    repo = copy_repo(tmp_path_factory.mktemp("trained") / "repo")
    run(["dvc", "repro"], repo, timeout=1800)
    return repo


@pytest.fixture
def restore_logging():
    """Put the root logger's handlers and level back after the test: cli.main points logging
    at the (captured) stderr of the test that runs it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
