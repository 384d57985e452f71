"""Shared fixtures: a temporary copy of the repository with tiny parameters.

The end-to-end tests run the real `snakemake` and `dvc` commands in such a copy; the
trained copy is built once per test session and shared (read-only) by the tests that
need trained models.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Small enough for 2 CPU cores, big enough for every split to hold a few trailers.
TINY_PARAMS = {
    "synth": {"count": 48, "duration_s": 8.0, "width": 64, "height": 48, "fps": 6},
    "extraction": {"shards": 3},
    "train": {"epochs": 2, "patience": 1, "batch_size": 16},
    "fusion": {
        "C": {"start": 0, "stop": 1, "num": 2},
        "gamma": {"start": -2, "stop": -1, "num": 2},
        "cv_folds": 2,
    },
}


def tool_env() -> dict[str, str]:
    """Environment for subprocesses: this interpreter's bin first, quiet TensorFlow."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: int = 900):
    """Run a real command (no shell), returning the CompletedProcess with text output."""
    result = subprocess.run(
        cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
            f"{result.stderr[-6000:]}"
        )
    return result


def deep_update(target: dict, updates: dict) -> dict:
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_update(target[key], value)
        else:
            target[key] = value
    return target


def set_params(repo: Path, updates: dict) -> None:
    """Change params.yaml in a repo copy (comments are not needed there)."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(deep_update(params, updates), sort_keys=False))


def copy_repo(dest: Path, params: dict | None = None) -> Path:
    """The repository's tracked and unignored files, as a fresh git repo with DVC."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / os.fsdecode(name)
        if not source.is_file():
            continue  # e.g. a deleted file still in the index
        target = dest / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    set_params(dest, deep_update(yaml.safe_load(yaml.safe_dump(TINY_PARAMS)), params or {}))
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.email", "test@example.invalid"],
        ["git", "config", "user.name", "moviegenre tests"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "copy"],
    ):
        run(cmd, dest)
    return dest


@pytest.fixture(scope="session")
def trained_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy where `dvc repro` has run the whole tiny pipeline once (do not modify)."""
    repo = copy_repo(tmp_path_factory.mktemp("trained") / "repo")
    run(["dvc", "repro"], repo, timeout=1800)
    return repo
