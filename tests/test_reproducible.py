"""A training stage rerun on the same machine gives the same numbers (README, "Figures").

The README states that reruns on one machine are identical (seeds fixed, deterministic ops)
while other CPUs may differ in the last digits: this holds the first half to the real
command, `dvc repro -f` of one fold model on the trained tiny pipeline, comparing the fold
model's held-out probabilities and its loss curve (what the metrics are computed from).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import run

from moviegenre import paths

pytestmark = pytest.mark.slow

STAGE, MODEL, FOLD = "train@cnn1d-0", "cnn1d", 0


def _outputs(repo: Path) -> tuple[pd.DataFrame, dict]:
    scores = pd.read_parquet(repo / paths.STACKING / MODEL / f"fold-{FOLD}.parquet")
    history = json.loads(
        (repo / paths.training_log_dir(MODEL, FOLD) / paths.TRAINING_HISTORY).read_text()
    )
    return scores, history


def test_dvc_repro_force_of_a_fold_model_gives_identical_numbers(
    trained_repo: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    before_scores, before_history = _outputs(repo)
    result = run(["dvc", "repro", "-f", "--single-item", STAGE], repo)
    assert f"Running stage '{STAGE}'" in result.stdout, result.stdout
    after_scores, after_history = _outputs(repo)
    assert len(after_scores) == len(before_scores) > 0
    pd.testing.assert_frame_equal(after_scores, before_scores, check_exact=True)
    assert after_history == before_history
