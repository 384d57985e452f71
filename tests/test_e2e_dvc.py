"""End to end: the real `dvc` commands on the tiny pipeline in a temporary repo copy.

A second `dvc repro` does nothing; a fusion parameter reruns only fusion and what follows;
a CNN1D parameter reruns only its fold models (train@cnn1d-<fold>) and what depends on
them, never another model's folds; `dvc metrics diff` shows the changed metrics; the
seed's protocol is one `dvc exp run -S fusion.protocol=seed` away; `dvc plots show` works.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import TINY_PARAMS, run, set_params

pytestmark = pytest.mark.slow

FUSION_STAGES = {
    "audio_svm",
    "fuse@cnn1d",
    "fuse@lstm_merge",
    "fuse@gru",
    "fuse@gru_merge",
    "evaluate",
    "bundle",
}


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def repo(trained_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained repo with its results committed, so diffs have a baseline."""
    copy = tmp_path_factory.mktemp("dvc") / "repo"
    shutil.copytree(trained_repo, copy, symlinks=True)
    run(["git", "add", "-A"], copy)
    run(["git", "commit", "-q", "-m", "trained"], copy)
    return copy


def test_trained_pipeline_has_metrics_and_plots(repo: Path) -> None:
    metrics = json.loads((repo / "results/metrics.json").read_text())
    for model in ("cnn1d", "lstm_merge", "gru", "gru_merge", "audio", "fusion_cnn1d"):
        assert 0.0 <= metrics["test"][model]["auprc_micro"] <= 1.0
    for png in ("pr_curves.png", "ap_bars.png", "loss_curves.png"):
        assert (repo / "results/plots" / png).stat().st_size > 1000
    assert (repo / "models/folds/cnn1d/fold-0.keras").exists()
    assert list((repo / "models/svm").glob("*.skops"))


def test_second_repro_runs_nothing(repo: Path) -> None:
    result = run(["dvc", "repro"], repo)
    assert _ran(result.stdout) == set(), result.stdout
    status = run(["dvc", "status"], repo)
    assert "up to date" in status.stdout


def test_fusion_parameter_reruns_only_fusion_and_after(repo: Path) -> None:
    set_params(repo, {"fusion": {"cv_folds": 3}})
    result = run(["dvc", "repro"], repo)
    assert _ran(result.stdout) == FUSION_STAGES, result.stdout


def test_cnn1d_parameter_reruns_only_its_branch(repo: Path) -> None:
    set_params(repo, {"train": {"cnn1d": {"learning_rate": 0.003, "dense_units": 40}}})
    result = run(["dvc", "repro"], repo)
    folds = [f"train@cnn1d-{i}" for i in range(TINY_PARAMS["stacking"]["folds"])]
    assert _ran(result.stdout) == {*folds, "oof@cnn1d", "fuse@cnn1d", "evaluate", "bundle"}
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo).stdout)
    changed = diff["results/metrics.json"]
    assert any(key.startswith("test.cnn1d.") for key in changed), changed
    params = json.loads(run(["dvc", "params", "diff", "--json"], repo).stdout)
    assert "train.cnn1d.dense_units" in params["params.yaml"]


def test_seed_protocol_is_one_experiment_away(repo: Path) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "baseline"], repo)
    result = run(["dvc", "exp", "run", "-S", "fusion.protocol=seed"], repo)
    assert _ran(result.stdout) == FUSION_STAGES, result.stdout
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo).stdout)
    changed = diff["results/metrics.json"]
    assert any(key.startswith("test.fusion_") for key in changed), changed
    assert not any(key.startswith("test.cnn1d.") for key in changed), changed


def test_exp_run_and_plots(repo: Path) -> None:
    result = run(["dvc", "exp", "run", "-S", "evaluate.threshold_split=train"], repo)
    assert _ran(result.stdout) == {"evaluate", "bundle"}, result.stdout
    shown = run(["dvc", "exp", "show", "--json"], repo)
    assert "auprc_micro" in shown.stdout
    out = repo / "plots_html"
    run(["dvc", "plots", "show", "-o", str(out)], repo)
    page = (out / "index.html").read_text()
    assert "recall" in page and "loss" in page.lower()
