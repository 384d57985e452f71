"""A DVC remote round trip: `dvc push` from one clone, `dvc pull` into a fresh clone
restores features, models and metrics, and neither tool then wants to recompute anything.

A local-directory remote stands in for S3 or a shared file system (same DVC code path
apart from the transport). The pulled files get new modification times, in no particular
order; Snakemake judges staleness by those times, so the documented recipe ends with
`snakemake --touch`, which marks the pulled outputs up to date in DAG order without
running anything (DVC judges by content hashes and needs nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import run

pytestmark = pytest.mark.slow


def test_push_then_pull_into_a_fresh_clone_restores_everything(
    trained_repo: Path, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    shutil.copytree(trained_repo, source, symlinks=True)  # the fixture stays untouched
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "storage", str(remote)], source)
    run(["git", "add", "-A"], source)  # dvc.lock, the remote, metrics kept in git
    run(["git", "commit", "-q", "-m", "trained, with a remote"], source)
    pushed = run(["dvc", "push"], source)
    print("\n$ dvc push\n" + pushed.stdout[-800:])
    assert any(remote.rglob("*")), "nothing was pushed"

    fresh = tmp_path / "fresh"
    run(["git", "clone", "-q", str(source), str(fresh)], tmp_path)
    assert not (fresh / "results/features").exists()
    pulled = run(["dvc", "pull"], fresh)
    print("$ dvc pull\n" + pulled.stdout[-800:])
    # The unlucky order a pull can leave: shards written before the trailers they came from.
    earlier = time.time() - 3600
    for output in (fresh / "results/features").rglob("*.*"):
        os.utime(output, (earlier, earlier))
    stale = run(["snakemake", "-n"], fresh)
    assert "visual_shard" in stale.stdout + stale.stderr  # why the recipe needs --touch
    touched = run(["snakemake", "--touch", "--cores", "1"], fresh)
    print("$ snakemake --touch\n" + touched.stderr[-400:])

    def files(repo: Path, folder: str) -> dict[str, bytes]:
        return {
            str(p.relative_to(repo)): p.read_bytes()
            for p in sorted((repo / folder).rglob("*"))
            if p.is_file() and ".snakemake" not in p.parts
        }

    for folder in ("results/features", "models", "data/synthetic/trailers"):
        assert files(fresh, folder) == files(source, folder), folder
        assert files(fresh, folder), folder
    for name in ("results/metrics/cnn1d.json", "results/extraction_report.csv", "dvc.lock"):
        assert (fresh / name).read_bytes() == (source / name).read_bytes(), name

    dry = run(["snakemake", "-n"], fresh)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-2000:]
    status = run(["dvc", "status"], fresh)
    assert "Data and pipelines are up to date" in status.stdout, status.stdout
    changes = subprocess.run(
        ["git", "status", "--porcelain"], cwd=fresh, capture_output=True, text=True
    ).stdout
    assert changes == "", changes
