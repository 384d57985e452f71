"""The numbers behind the charts, checked by value against independent computations.

The PR data once held 1.0 everywhere (the running maximum was taken from the recall-0 end)
while every test checked only that the files and columns existed: here each PR row is
compared with a hand-worked example, with precision/recall counted directly, and with
scikit-learn's own curve; the AP rows with scikit-learn's score and the metrics detail; the
loss rows (dvclive's files behind the DVC loss chart) with the training history.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from evaluation_tables import N_TEST, write_tables
from helpers import REPO
from sklearn.metrics import average_precision_score, precision_recall_curve
from training_data import TINY_CNN1D, TOY_FRAMES, TOY_TRAIN, TOY_VALID, memmap, toy_data

from moviegenre import paths
from moviegenre.config import load_params
from moviegenre.evaluation.plots import interpolated_pr_rows
from moviegenre.genres import GENRES_9
from moviegenre.pipeline import evaluate
from moviegenre.registry import EVALUATED_MODELS


def test_pr_rows_of_a_hand_worked_example() -> None:
    """Labels 1 0 1 0 0. Model `good` ranks them .9 .8 .7 .3 .1: its operating points are
    (recall .5, precision 1), (.5, .5), (1, 2/3), ...; `bad` ranks both positives last:
    (.5, 1/4), (1, 2/5). Interpolated precision at r is the best precision at recall >= r
    (1 at r = 0 by convention, scikit-learn's (recall 0, precision 1) point)."""
    y = np.array([1, 0, 1, 0, 0])
    good = np.array([0.9, 0.8, 0.7, 0.3, 0.1])
    bad = np.array([0.1, 0.9, 0.3, 0.8, 0.7])
    rows = interpolated_pr_rows(y, {"good": good, "bad": bad}, points=5)
    assert rows == [
        {"recall": 0.0, "good": 1.0, "bad": 1.0},
        {"recall": 0.25, "good": 1.0, "bad": 0.4},
        {"recall": 0.5, "good": 1.0, "bad": 0.4},
        {"recall": 0.75, "good": 0.6667, "bad": 0.4},
        {"recall": 1.0, "good": 0.6667, "bad": 0.4},
    ]


def _counted_interpolation(y: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Interpolated precision from precision and recall counted at every threshold."""
    points = [(0.0, 1.0)]  # (recall, precision) before any trailer is called positive
    for t in np.unique(s):
        called = s >= t
        hits = int((called & (y == 1)).sum())
        points.append((hits / int(y.sum()), hits / int(called.sum())))
    return np.array([max(p for r_, p in points if r_ >= r - 1e-12) for r in grid])


def _sklearn_interpolation(y: np.ndarray, s: np.ndarray, grid: np.ndarray) -> np.ndarray:
    precision, recall, _ = precision_recall_curve(y, s)
    return np.array([precision[recall >= r - 1e-12].max() for r in grid])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pr_rows_match_counted_and_scikit_learn_curves(seed: int) -> None:
    """Random labels and tied scores (rounded to 1 decimal) on a 51-point recall grid."""
    rng = np.random.default_rng(seed)
    y = (rng.random(40) < 0.3).astype(int)
    y[:2] = [1, 0]
    s = np.round(0.3 * y + 0.7 * rng.random(40), 1)
    rows = interpolated_pr_rows(y, {"m": s})
    grid = np.array([row["recall"] for row in rows])
    np.testing.assert_allclose(grid, np.linspace(0, 1, 51))
    got = np.array([row["m"] for row in rows])
    np.testing.assert_allclose(got, _counted_interpolation(y, s, grid), atol=5e-5)
    np.testing.assert_allclose(got, _sklearn_interpolation(y, s, grid), atol=5e-5)
    assert np.all(np.diff(got) <= 0) and got[-1] < 1.0  # an envelope, not a flat line


def test_stage_plot_files_hold_the_metrics_values(tmp_path: Path, monkeypatch) -> None:
    """The evaluate stage's PR files: scikit-learn's interpolated curve of each model's test
    scores; its AP files: scikit-learn's AP, the same as metrics_detail.json's."""
    monkeypatch.chdir(tmp_path)
    labels, splits, scores = write_tables(tmp_path)
    evaluate.run(load_params(REPO / "params.yaml"))
    test = splits == "test"
    assert int(test.sum()) == N_TEST
    detail = json.loads(paths.METRICS_DETAIL.read_text())
    for g, genre in enumerate(GENRES_9):
        rows = json.loads(paths.pr_plot_path(genre).read_text())
        grid = np.array([row["recall"] for row in rows])
        for model in EVALUATED_MODELS:
            got = np.array([row[model] for row in rows])
            want = _sklearn_interpolation(labels[test, g], scores[model][test, g], grid)
            np.testing.assert_allclose(got, want, atol=5e-5, err_msg=f"{genre} {model}")
    for model in EVALUATED_MODELS:
        rows = json.loads(paths.ap_plot_path(model).read_text())
        assert [row["genre"] for row in rows] == list(GENRES_9)
        for g, row in enumerate(rows):
            ap = average_precision_score(labels[test, g], scores[model][test, g])
            assert row["ap"] == pytest.approx(ap, abs=5e-5)
            assert row["ap"] == detail["test"][model]["ap"][row["genre"]]


def test_loss_rows_equal_the_training_history(tmp_path: Path, monkeypatch) -> None:
    """dvclive's train/eval loss.tsv (the DVC loss chart) hold history.json's loss and
    val_loss, epoch by epoch (the evaluate stage's loss_curves.png draws history.json)."""
    from moviegenre.models.train import train_model

    monkeypatch.chdir(tmp_path)
    raw, labels = toy_data()
    live = tmp_path / "live"
    train_model(
        "cnn1d",
        memmap(tmp_path, raw),
        labels,
        TOY_TRAIN,
        TOY_VALID,
        {**TINY_CNN1D, "epochs": 3, "patience": 3},
        TOY_FRAMES,
        tmp_path / "cnn1d.keras",
        live,
    )
    history = json.loads((live / paths.TRAINING_HISTORY).read_text())
    for split, key in (("train", "loss"), ("eval", "val_loss")):
        lines = (live / "plots" / "metrics" / split / "loss.tsv").read_text().splitlines()
        assert lines[0].split("\t") == ["step", "loss"]
        steps = [int(line.split("\t")[0]) for line in lines[1:]]
        values = [float(line.split("\t")[1]) for line in lines[1:]]
        assert steps == list(range(len(history[key])))
        np.testing.assert_allclose(values, history[key], rtol=1e-6)
        assert len(values) == 3


# ---------------------------------------------------------------- what the figures show


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_ap_bar_legend_covers_no_bar_and_every_figure_has_a_title() -> None:
    """The AP chart's legend sat on the last genre's bars; the figures had no title."""
    from moviegenre.evaluation import plots

    genres = [f"genre_{k}" for k in range(9)]
    ap = {f"model_{m}": {g: 0.99 for g in genres} for m in range(9)}  # full-height bars
    fig = plots.ap_bars_figure(ap, genres)
    renderer = _drawn(fig)
    (ax,) = fig.axes
    assert ax.get_legend() is None and len(fig.legends) == 1
    assert not fig.legends[0].get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    assert ax.get_title()
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6], [0.1, 0.3]])
    history = {"cnn1d": {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}}
    for fig in (
        plots.pr_curves_figure(y, {"m": s}, ["A", "B"]),
        plots.loss_curves_figure(history),
        plots.loss_curves_figure({}),
    ):
        assert fig.get_suptitle(), fig
    empty = plots.loss_curves_figure({})
    assert [t.get_text() for t in empty.axes[0].texts] == ["no training history"]
