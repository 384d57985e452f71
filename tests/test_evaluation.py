"""Thresholds, metrics and figures of moviegenre.evaluation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import REPO
from sklearn.metrics import average_precision_score, f1_score, hamming_loss, roc_curve

from moviegenre.evaluation import (
    apply_thresholds,
    evaluate_scores,
    fault_matrix,
    metrics_table,
    plots,
    prevalence_baseline,
    youden_thresholds,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def toy() -> tuple[np.ndarray, np.ndarray]:
    """Random labels with informative, genre-specific scores (3 genres, all present)."""
    rng = np.random.default_rng(1)
    y = (rng.random((80, 3)) < [0.2, 0.5, 0.35]).astype(int)
    s = np.clip(0.35 * y + rng.normal([0.1, 0.4, 0.25], 0.2, size=(80, 3)), 0, 1)
    return y, s


# thresholds ------------------------------------------------------------------------------------


def test_youden_hand_computed():
    # Genre 0, scores sorted: 0.1(-) 0.4(+) 0.35(-) 0.8(+).  Cutoffs and J = TPR - FPR:
    #   >=0.8: 1/2 - 0 = 0.5;  >=0.4: 2/2 - 0 = 1.0;  >=0.35: 1 - 1/2;  >=0.1: 0.
    # Genre 1, scores 0.9(-) 0.2(+) 0.6(+) 0.7(-): >=0.6 gives 1/2 - 2/2 < 0; best is +inf (J=0)
    # or >=0.2 (J = 1 - 1 = 0); ties go to the highest cutoff, +inf, clipped to 1.0.
    y = np.array([[0, 0], [1, 1], [0, 1], [1, 0]])
    s = np.array([[0.1, 0.9], [0.4, 0.2], [0.35, 0.6], [0.8, 0.7]])
    t = youden_thresholds(y, s)
    assert t == pytest.approx([0.4, 1.0])
    assert apply_thresholds(s, t)[:, 0].tolist() == [0, 1, 0, 1]


def test_youden_matches_brute_force_over_roc_curve(toy):
    y, s = toy
    t = youden_thresholds(y, s)
    for g in range(y.shape[1]):
        fpr, tpr, thr = roc_curve(y[:, g], s[:, g])
        best_j = np.max(tpr - fpr)
        # the chosen threshold achieves the best J when applied to the scores
        pred = s[:, g] >= t[g]
        tpr_t = pred[y[:, g] == 1].mean()
        fpr_t = pred[y[:, g] == 0].mean()
        assert tpr_t - fpr_t == pytest.approx(best_j)
        assert np.min(np.abs(thr - t[g])) < 1e-12 or t[g] == 1.0


def test_thresholds_differ_per_genre_and_apply_per_column(toy):
    y, s = toy
    t = youden_thresholds(y, s)
    assert len(np.unique(t)) == 3  # the seed applied the last genre's to all
    pred = apply_thresholds(s, t)
    assert pred.shape == y.shape and pred.dtype == np.uint8
    for g in range(3):
        assert np.array_equal(pred[:, g], (s[:, g] >= t[g]).astype(np.uint8))


def test_youden_single_class_and_clipping():
    y = np.array([[0, 1, 1], [0, 0, 0], [0, 1, 0]])
    s = np.array([[0.3, 0.9, 0.1], [0.2, 0.1, 0.9], [0.7, 0.8, 0.8]])
    t = youden_thresholds(y, s)
    assert t[0] == 0.5  # one class only: no ROC curve
    assert t[1] == 0.8  # the lowest score that still separates: J = 1
    # anti-correlated: "predict nothing" (roc_curve's +inf, J = 0) wins the tie, clipped to 1
    assert t[2] == 1.0


# metrics ---------------------------------------------------------------------------------------


def test_evaluate_scores_matches_sklearn(toy):
    y, s = toy
    t = youden_thresholds(y, s)
    m = evaluate_scores(y, s, t, ["A", "B", "C"])
    pred = apply_thresholds(s, t)
    for avg in ("micro", "macro", "weighted"):
        assert m[f"auprc_{avg}"] == round(average_precision_score(y, s, average=avg), 4)
    assert m["hamming_loss"] == round(hamming_loss(y, pred), 4)
    assert m["f1_micro"] == round(f1_score(y, pred, average="micro"), 4)
    assert m["f1_macro"] == round(f1_score(y, pred, average="macro"), 4)
    per = average_precision_score(y, s, average=None)
    assert m["ap"] == {g: round(v, 4) for g, v in zip("ABC", per, strict=True)}
    assert all(type(v) is float for k, v in m.items() if k != "ap")
    json.dumps(m)


def test_perfect_scorer():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    m = evaluate_scores(y, y * 0.9 + 0.05, np.array([0.5, 0.5]), ["A", "B"])
    assert m["auprc_micro"] == m["auprc_macro"] == m["auprc_weighted"] == 1.0
    assert m["hamming_loss"] == 0.0 and m["f1_macro"] == 1.0


def test_absent_genre_is_null_and_left_out_of_macro():
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    s = np.array([[0.9, 0.2], [0.1, 0.7], [0.8, 0.1], [0.3, 0.4]])
    m = evaluate_scores(y, s, np.array([0.5, 0.5]), ["A", "B"])
    assert m["ap"] == {"A": 1.0, "B": None}
    assert m["auprc_macro"] == 1.0  # sklearn's macro would average in a 0 for B
    assert json.loads(json.dumps(m))["ap"]["B"] is None


def test_prevalence_baseline_equals_constant_scorer(toy):
    y, _ = toy
    base = prevalence_baseline(y)
    const = np.full(y.shape, 0.5)
    assert base["auprc_micro"] == round(y.mean(), 4)
    assert base["auprc_micro"] == round(average_precision_score(y, const, average="micro"), 4)
    assert base["auprc_macro"] == round(average_precision_score(y, const, average="macro"), 4)
    assert base["auprc_weighted"] == round(average_precision_score(y, const, average="weighted"), 4)
    assert base["prevalence"] == [round(p, 4) for p in y.mean(axis=0)]


def test_fault_matrix_hand_made():
    y = np.array([[1, 1], [0, 0], [1, 0], [0, 1]])
    p = np.array([[0, 1], [0, 0], [1, 1], [1, 1]])
    # genre 0 wrong on rows 0, 3; genre 1 wrong on rows 2.  Labels agree on rows 0, 1.
    f = fault_matrix(y, p)
    assert f == pytest.approx(np.array([[2 / 4, 1 / 2], [0 / 2, 1 / 4]]))
    # a pair whose labels never agree is undefined
    f2 = fault_matrix(np.array([[1, 0], [0, 1]]), np.array([[1, 0], [0, 1]]))
    assert math.isnan(f2[0, 1]) and math.isnan(f2[1, 0]) and f2[0, 0] == 0.0


def test_metrics_table():
    table = metrics_table(
        {
            "audio_svm": {"auprc_micro": 0.51234, "auprc_macro": 0.4, "hamming_loss": None},
            "fusion_cnn1d": {"auprc_micro": 0.6, "auprc_macro": 0.55, "f1_macro": 0.3},
        }
    )
    lines = table.splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
    assert lines[0].split() == ["model", "auprc_micro", "auprc_macro", "hamming_loss", "f1_macro"]
    assert lines[2].split() == ["audio_svm", "0.5123", "0.4000", "-", "-"]


# plots -----------------------------------------------------------------------------------------


def test_plot_rows_are_written_as_json_or_csv(tmp_path):
    rows = [
        {"model": "m", "genre": "A", "recall": 1.0, "precision": 0.4},
        {"model": "m", "genre": "A", "recall": 0.0, "precision": 1.0},
    ]
    out = plots.write_rows(rows, tmp_path / "pr.json")
    assert json.loads(out.read_text()) == rows
    csv_out = plots.write_rows(rows, tmp_path / "pr.csv")
    assert csv_out.read_text().splitlines()[0] == "model,genre,recall,precision"


def test_plots_write_png(toy, tmp_path):
    y, s = toy
    genres = ["A", "B", "C"]
    paths = [
        plots.plot_pr_curves(y, {"m1": s, "m2": s[::-1]}, genres, tmp_path / "pr.png"),
        plots.plot_loss_curves(
            {
                "cnn": {"loss": [1.0, 0.7, 0.5], "val_loss": [1.1, 0.8, 0.9]},
                "gru": {"loss": [1, 2]},
            },
            tmp_path / "sub" / "loss.png",
        ),
        plots.plot_fault_matrix(
            fault_matrix(y, apply_thresholds(s, youden_thresholds(y, s))),
            genres,
            tmp_path / "fault.png",
            "fault",
        ),
        plots.plot_ap_bars(
            {"m1": {"A": 0.5, "B": 0.7, "C": None}, "m2": {"A": 0.4, "B": 0.9, "C": 0.2}},
            genres,
            tmp_path / "ap.png",
        ),
    ]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000
    assert sorted(f.name for f in tmp_path.iterdir()) == ["ap.png", "fault.png", "pr.png", "sub"]


def test_pr_legend_is_shared_and_covers_no_panel(toy) -> None:
    """Nine models' legend inside each small panel hid the curves: one legend for the
    figure, outside every panel, with each model once (plus the prevalence line)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    y, s = toy
    models = {f"model_{k}": np.roll(s, k, axis=0) for k in range(9)}
    fig = plots.pr_curves_figure(y, models, ["A", "B", "C"])
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert all(ax.get_legend() is None for ax in fig.axes)
    assert len(fig.legends) == 1
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [*models, "prevalence"]
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_title()


def test_threshold_rows_are_never_test() -> None:
    """`oof` fits thresholds on every non-test trailer; no setting reaches the test split."""
    from moviegenre.config import ConfigError, load_params, validate_config
    from moviegenre.pipeline.evaluate import threshold_rows

    splits = np.array(["train", "valid", "test", "train", "test", "valid"])
    np.testing.assert_array_equal(threshold_rows(splits, "oof"), [0, 1, 3, 5])
    np.testing.assert_array_equal(threshold_rows(splits, "valid"), [1, 5])
    np.testing.assert_array_equal(threshold_rows(splits, "train"), [0, 3])
    with pytest.raises(ValueError, match="never"):
        threshold_rows(splits, "test")
    params = load_params(REPO / "params.yaml")
    assert params["evaluate"]["threshold_split"] == "oof"
    params["evaluate"]["threshold_split"] = "test"
    with pytest.raises(ConfigError, match="threshold_split"):
        validate_config(params)
