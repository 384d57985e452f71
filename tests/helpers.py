"""What the test modules share: the repository's paths, real commands, repository copies,
and the content of what an extraction wrote (extraction_snapshot).

A test module imports these names (`from helpers import copy_repo, run`); conftest.py holds
the fixtures only. The end-to-end tests run the real `snakemake` and `dvc` commands in a
copy made by copy_repo, with TINY_PARAMS on top of the committed params.yaml.

What only some modules share lives beside this one, a module a theme: media.py (synthetic
videos and sound), bundles.py (prediction bundles and trailer archives), lmtd_fixtures.py
(LMTD-9's files), evaluation_tables.py (the evaluate stage's input), training_data.py (a toy
training problem), seeking.py (the seed's frame decoder). A test module never imports another
test module (tests/test_structure.py checks it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def write_dataset(
    root: Path,
    labels: np.ndarray,
    splits: np.ndarray,
    genres: tuple[str, ...] | list[str],
    audio: np.ndarray,
    visual: np.ndarray,
    has_audio: bool = True,
) -> pd.DataFrame:
    """An assembled data set, as the dataset stage writes it, under `root`; returns the index.

    Trailer ids are 000000, 000001, ...; every row has `visual.shape[1]` frames.
    """
    from moviegenre import paths

    n = len(labels)
    index = pd.DataFrame({"trailer_id": [f"{i:06d}" for i in range(n)], "split": splits})
    index["n_frames"] = visual.shape[1]
    index["has_audio"] = has_audio
    index["silent"] = False
    for g, genre in enumerate(genres):
        index[genre] = labels[:, g]
    out = root / paths.DATASET
    out.mkdir(parents=True)
    index.to_parquet(out / paths.DATASET_INDEX, index=False)
    np.save(out / paths.DATASET_AUDIO, audio)
    np.save(out / paths.DATASET_VISUAL, visual)
    (out / paths.DATASET_REPORT).write_text(json.dumps({"genres": list(genres)}))
    return index


# Small enough for 2 CPU cores, big enough for every split to hold a few trailers.
TINY_PARAMS = {
    "synth": {"count": 48, "duration_s": 8.0, "width": 64, "height": 48, "fps": 6},
    # cluster_cores: the local Slurm of tests/test_slurm.py has this machine's 2 CPUs
    "extraction": {"shards": 3, "cluster_cores": 2},
    "train": {"epochs": 2, "patience": 1, "batch_size": 16},
    "stacking": {"folds": 2, "fold_ids": [0, 1]},
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


def run(
    cmd: list[str],
    cwd: Path,
    check: bool = True,
    timeout: int = 900,
    env: dict[str, str] | None = None,
):
    """Run a real command (no shell), returning the CompletedProcess with text output.

    `env`: variables set on top of tool_env()'s (e.g. DVC_STAGE, as DVC sets it).
    """
    result = subprocess.run(
        cmd,
        cwd=cwd,
        env={**tool_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
            f"{result.stderr[-6000:]}"
        )
    return result


def deep_update(target: dict, updates: dict) -> dict:
    """Merge `updates` into `target` in place: nested dicts key by key, other values replaced."""
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


# What a run writes (`make run`, `dvc repro`, `snakemake`): untracked files there are
# outputs, not sources, and DVC leaves some of them unignored (metrics, plots, dvc.lock).
OUTPUT_DIRS = ("results", "data", "models", "dvc_plots", ".dvc", ".snakemake")
OUTPUT_FILES = ("dvc.lock",)
# The project's own files inside those folders; anything else there is a run's output, even
# when git tracks it (DVC stages its .gitignore files and dvc.lock; a user commits a baseline).
SOURCES_IN_OUTPUT_DIRS = (".dvc/config", ".dvc/.gitignore", "results/README.md")


def _is_output(name: str) -> bool:
    if name in SOURCES_IN_OUTPUT_DIRS:
        return False
    return name.split("/")[0] in OUTPUT_DIRS or name in OUTPUT_FILES


def source_files(source: Path = REPO) -> list[str]:
    """The files a fresh clone of `source` would have, plus new unignored source files.

    Files are taken as they are in the working tree, tracked or not, except a run's outputs
    (see _is_output), so a tree where the pipeline has run copies like a clean one.
    """

    def listed(*options: str) -> list[str]:
        out = subprocess.run(
            ["git", "ls-files", *options, "-z"], cwd=source, capture_output=True, check=True
        ).stdout
        return [os.fsdecode(name) for name in out.split(b"\0") if name]

    names = set(listed("-c")) | set(listed("-o", "--exclude-standard"))
    return sorted(name for name in names if not _is_output(name))


def copy_repo(dest: Path, params: dict | None = None, source: Path = REPO) -> Path:
    """The repository's source files (see source_files), as a fresh git repo with DVC."""
    for name in source_files(source):
        path = source / name
        if not path.is_file():
            continue  # e.g. a deleted file still in the index
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
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


#: where the tiny pipeline's extraction writes its shards in a repository copy
VISUAL_SHARDS = Path("results/features/visual/mobilenetv3small")
AUDIO_SHARDS = Path("results/features/audio")


def extraction_snapshot(repo: Path) -> dict:
    """The content of every extraction output (tables, not bytes: Parquet embeds no time,
    but content is what a later stage reads)."""
    from moviegenre.features.shards import read_audio_shard, read_visual_shard
    from moviegenre.features.status import ORIGINS, read_status_csv

    out: dict = {}
    for path in sorted((repo / VISUAL_SHARDS).glob("shard-*.parquet")):
        shard = read_visual_shard(path)
        out[f"visual/{path.name}"] = (
            shard.trailer_ids,
            shard.offsets.tolist(),
            shard.timestamps.tolist(),
            shard.features.copy(),
            shard.metadata,
        )
    for path in sorted((repo / AUDIO_SHARDS).glob("shard-*.parquet")):
        ids, vectors, silent, meta = read_audio_shard(path)
        out[f"audio/{path.name}"] = (ids, vectors.copy(), silent.tolist(), meta)
    for path in sorted((repo / "results/features").rglob("*.status.csv")):
        out[str(path.relative_to(repo))] = read_status_csv(path)
    out["report"] = pd.read_csv(repo / "results/extraction_report.csv", dtype=str)
    summary = json.loads((repo / "results/extraction_summary.json").read_text())
    # what a run decoded or took from the feature store depends on what an interrupted run
    # had stored: the summary's per-run counts and text are not an output's content
    for counts in summary["stages"].values():
        for key in (*ORIGINS, "failed_now"):
            counts.pop(key)
    summary.pop("text")
    out["summary"] = summary
    return out


def assert_same_outputs(got: dict, expected: dict) -> None:
    """Two extraction_snapshot results are equal: arrays exactly, status rows NaN-safe."""
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        if key == "report":
            pd.testing.assert_frame_equal(got[key], value)
        elif key.startswith(("visual/", "audio/")):
            for mine, theirs in zip(got[key], value, strict=True):
                if isinstance(theirs, np.ndarray):
                    np.testing.assert_array_equal(mine, theirs, err_msg=key)
                else:
                    assert mine == theirs, key
        else:
            assert repr(got[key]) == repr(value), key  # NaN-safe comparison of status rows
