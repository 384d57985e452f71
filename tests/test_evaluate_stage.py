"""The evaluate stage itself, on a crafted table: thresholds from non-test rows, metrics on test.

Test rows follow a different rule from the other splits (scores shifted down, positives rarer),
so a Youden threshold chosen on them differs from the one chosen on the non-test rows: a stage
that reads test rows for its thresholds writes other numbers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from evaluation_tables import N_TEST, write_tables
from helpers import REPO, run

from moviegenre import paths
from moviegenre.config import load_params
from moviegenre.evaluation.metrics import evaluate_scores
from moviegenre.evaluation.thresholds import youden_thresholds
from moviegenre.genres import GENRES_9
from moviegenre.pipeline import evaluate
from moviegenre.registry import EVALUATED_MODELS, VISUAL_MODELS


@pytest.mark.parametrize("threshold_split", ["oof", "valid"])
def test_evaluate_stage_fits_thresholds_off_test_and_scores_test(
    tmp_path, monkeypatch, threshold_split
) -> None:
    monkeypatch.chdir(tmp_path)
    labels, splits, scores = write_tables(tmp_path)
    config = load_params(REPO / "params.yaml")
    config["evaluate"]["threshold_split"] = threshold_split
    metrics = evaluate.run(config)

    pick = np.isin(splits, ("train", "valid") if threshold_split == "oof" else ("valid",))
    test = splits == "test"
    saved = json.loads(Path("results/thresholds.json").read_text())
    assert saved["split"] == threshold_split
    assert list(saved["models"]) == list(EVALUATED_MODELS)
    for model, s in scores.items():
        cut = youden_thresholds(labels[pick], s[pick])
        from_test = youden_thresholds(labels[test], s[test])
        assert not np.allclose(cut, from_test)  # the crafted rules tell the two apart
        assert [saved["models"][model][g] for g in GENRES_9] == pytest.approx(cut, abs=1e-6)
        expected = evaluate_scores(labels[test], s[test], cut, list(GENRES_9))
        assert metrics["test"][model] == expected
    assert metrics["n_test"] == N_TEST
    on_disk = json.loads(Path("results/metrics_detail.json").read_text())
    assert on_disk["test"]["cnn1d"]["ap"] == pytest.approx(metrics["test"]["cnn1d"]["ap"])


def test_dvc_metrics_are_a_few_scalars_per_model_and_a_short_headline(
    tmp_path, monkeypatch
) -> None:
    """`dvc metrics show` prints a row per file: one small file per model, no per-genre
    numbers; `dvc exp show` needs headline names that are unique and short (nine columns
    in 120) and say which model they are."""
    monkeypatch.chdir(tmp_path)
    write_tables(tmp_path)
    metrics = evaluate.run(load_params(REPO / "params.yaml"))
    models = list(EVALUATED_MODELS)
    assert sorted(p.stem for p in Path("results/metrics").iterdir()) == sorted(models)
    for model in models:
        row = json.loads(Path(f"results/metrics/{model}.json").read_text())
        assert set(row) == {*evaluate.ROW_KEYS, "oof_auprc_macro"}
        assert row["auprc_macro"] == metrics["test"][model]["auprc_macro"]
        assert row["oof_auprc_macro"] == metrics["oof"][model]["auprc_macro"]
    headline = json.loads(Path("results/auprc_macro.json").read_text())
    assert list(headline) == [evaluate.headline_name(m) for m in models]
    assert len(set(headline)) == len(models)
    assert max(map(len, headline)) <= 7
    for model in models:
        assert headline[evaluate.headline_name(model)] == metrics["test"][model]["auprc_macro"]
    assert evaluate.headline_name("fusion_lstm_merge") == "+lstm_m"
    assert sorted(p.stem for p in Path("results/plots/pr").iterdir()) == sorted(GENRES_9)


def test_dvc_draws_each_chart_once_for_the_configured_genres(tmp_path, monkeypatch) -> None:
    """Real `dvc plots show` with this repo's dvc.yaml on the stage's outputs for 4 genres:
    a PR chart per configured genre, one AP chart, each image once, and no data file
    drawn a second time by the default template (against `step`)."""
    genres = ("Action", "Comedy", "Drama", "Horror")
    monkeypatch.chdir(tmp_path)
    write_tables(tmp_path, genres)
    evaluate.run(load_params(REPO / "params.yaml"))
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    shown = json.loads(run(["dvc", "plots", "show", "--json"], tmp_path).stdout)["data"]
    shown = {k: v for k, v in shown.items() if v}  # the loss chart: no training run here
    assert all(len(renders) == 1 for renders in shown.values()), shown.keys()
    kinds = {
        kind: {k for k, v in shown.items() if v[0]["type"] == kind} for kind in ("vega", "image")
    }
    assert kinds["vega"] == {
        *(f"results/plots/pr/{g}.json" for g in genres),
        "Average precision per genre (test)",
    }
    assert kinds["image"] == {
        *(f"results/plots/fault_matrices/{m}.png" for m in list(EVALUATED_MODELS)),
        *(f"results/plots/{name}.png" for name in ("pr_curves", "ap_bars", "loss_curves")),
    }
    assert len(shown) == len(kinds["vega"]) + len(kinds["image"])


def _names(entries: list) -> list[str]:
    """The paths or ids of a dvc.yaml list (each a string or a one-key mapping)."""
    return [e if isinstance(e, str) else next(iter(e)) for e in entries]


def test_dvc_yaml_declares_the_stage_outputs_and_the_registry_models() -> None:
    """dvc.yaml names no genre (the PR charts are the files of `dataset.genres`), its model
    lists are the registry's, the metrics are the small files and the chart data is drawn
    only by the top-level definitions."""
    text = (REPO / "dvc.yaml").read_text()
    assert [g for g in GENRES_9 if g in text] == []
    dvc = yaml.safe_load(text)
    stage = dvc["stages"]["evaluate"]
    assert _names(stage["metrics"]) == [str(paths.MODEL_METRICS), str(paths.HEADLINE_METRICS)]
    data = [str(paths.METRICS_DETAIL), str(paths.PR_PLOTS), str(paths.AP_PLOTS)]
    assert set(data) <= set(_names(stage["outs"]))
    assert not set(data) & set(_names(stage["plots"]))
    plots = {k: v for item in dvc["plots"] for k, v in item.items()}
    models = list(EVALUATED_MODELS)
    assert plots[str(paths.PR_PLOTS)]["y"] == models
    ap = plots["Average precision per genre (test)"]["y"]
    assert list(ap) == [str(paths.ap_plot_path(m)) for m in models]
    loss = next(v["y"] for k, v in plots.items() if k.startswith("Training"))
    assert list(dict.fromkeys(Path(f).parts[2] for f in loss)) == list(VISUAL_MODELS)
