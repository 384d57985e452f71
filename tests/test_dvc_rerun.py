"""`dvc status` after a code edit lists only the stages whose outputs that code shapes.

Through the real `dvc status` in a copy of the trained tiny pipeline (conftest's
trained_repo, copied: it is shared read-only). The cases of issue 19: the Parquet shard
code shapes the data set, not the models trained on it; one model's architecture module
reruns that model's folds only (oof@, fuse@, evaluate and bundle follow from their outputs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import run

pytestmark = pytest.mark.slow


def _changed_stages(trained_repo: Path, tmp_path: Path, module: str) -> set[str]:
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    assert json.loads(run(["dvc", "status", "--json"], repo).stdout or "{}") == {}
    source = repo / "src/moviegenre" / module
    source.write_text(source.read_text() + "\n# an edit\n")
    return set(json.loads(run(["dvc", "status", "--json"], repo).stdout or "{}"))


def test_editing_the_shard_code_retrains_nothing(trained_repo: Path, tmp_path: Path) -> None:
    changed = _changed_stages(trained_repo, tmp_path, "features/shards.py")
    assert "dataset" in changed
    assert not {s for s in changed if s.startswith("train@")}, changed
    assert changed <= {"features", "dataset"}, changed


def test_editing_gru_retrains_gru_only(trained_repo: Path, tmp_path: Path) -> None:
    changed = _changed_stages(trained_repo, tmp_path, "models/architectures/gru.py")
    assert changed == {"train@gru-0", "train@gru-1"}, changed
