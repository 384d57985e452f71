"""DVC stage evaluate: metrics on the test split with thresholds from another split, plots.

Thresholds (one per genre, Youden point) come from `evaluate.threshold_split`, never from
test: `oof` (default) uses every non-test trailer's out-of-fold score (moviegenre.stacking
for visual models, the SVMs' inner cross-validation for audio and fusion); `valid` and
`train` use one split. The best fusion by out-of-fold AU-PRC becomes the prediction
bundle's default model (the metrics detail's `oof` section), never one chosen on test.

What DVC shows: `results/metrics/<model>.json`, a few scalars per model (one row each in
`dvc metrics show`), and `results/auprc_macro.json`, the headline: test AU-PRC macro per
model under short names, so that `dvc exp show` fits all of them in 120 columns. The
detail (AP per genre, every metric on test, valid and out-of-fold AU-PRC) is
`results/metrics_detail.json`, a plain output.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import numpy as np

from moviegenre import paths
from moviegenre.atomic import write_json_atomic, write_text_atomic
from moviegenre.dataset_files import load_dataset
from moviegenre.evaluation.metrics import (
    evaluate_scores,
    fault_matrix,
    metrics_table,
    prevalence_baseline,
)
from moviegenre.evaluation.thresholds import apply_thresholds, youden_thresholds
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.predictions import read_predictions
from moviegenre.registry import AUDIO_MODEL, EVALUATED_MODELS, VISUAL_MODELS, fused_name
from moviegenre.stacking import NON_TEST

log = logging.getLogger("moviegenre.evaluate")

# A model's row in `dvc metrics show`: these test scores, and `oof_auprc_macro`, the
# out-of-fold AU-PRC the default model is chosen on.
ROW_KEYS = ("auprc_macro", "auprc_micro", "f1_macro", "hamming_loss")
#: under the table: which way is better (README, "What the numbers mean")
TABLE_NOTE = (
    "higher is better except hamming_loss; prevalence: the AU-PRC of a model that knows "
    "nothing (each genre's share of the test trailers)"
)


def headline_name(model: str) -> str:
    """A model's column in `dvc exp show`: `_merge` is `_m` and `+x` is x fused with audio,
    short enough for all nine columns to fit a 120-column terminal."""
    for visual in VISUAL_MODELS:
        if model == fused_name(visual):
            return "+" + headline_name(visual)
    return model.replace("_merge", "_m")


def model_row(test: dict[str, Any], oof: dict[str, Any]) -> dict[str, Any]:
    """The few scalars of one model that `dvc metrics show` prints as its row."""
    return {**{k: test[k] for k in ROW_KEYS}, "oof_auprc_macro": oof["auprc_macro"]}


def fallback_text(model: str) -> str:
    """What an SVM model that learnt no audio gives instead (moviegenre.fusion.policy)."""
    if model == AUDIO_MODEL:
        return "training prevalence per genre"
    for visual in VISUAL_MODELS:
        if model == fused_name(visual):
            return f"copy of {visual}"
    raise ValueError(f"{model} has no audio fallback")


def fallback_models(rows_by_model: dict[str, Any]) -> dict[str, str]:
    """model -> what it is, for the audio/fusion models whose every trailer got the no-audio
    fallback (no SVM fitted: e.g. LMTD-9's features without trailers). Their figures are not
    results: the table marks them, the DVC metrics leave them out."""
    return {
        model: f"fallback: {fallback_text(model)}, no SVM fitted (no trailer had audio)"
        for model, rows in rows_by_model.items()
        if model not in VISUAL_MODELS and len(rows) and rows["audio_missing"].to_numpy().all()
    }


def write_metrics(detail: dict[str, Any]) -> None:
    """The DVC metrics (a file per model, the headline), then the detail they come from.

    Fallback models (detail's `fallbacks`) get neither a file nor a headline column.
    """
    fallbacks = detail.get("fallbacks") or {}
    kept = {m: v for m, v in detail["test"].items() if m not in fallbacks}
    for model in fallbacks:
        paths.model_metrics_path(model).unlink(missing_ok=True)  # a stale run's, by hand
    for model, test in kept.items():
        write_json_atomic(paths.model_metrics_path(model), model_row(test, detail["oof"][model]))
    headline = {headline_name(m): v["auprc_macro"] for m, v in kept.items()}
    write_json_atomic(paths.HEADLINE_METRICS, headline)
    write_json_atomic(paths.METRICS_DETAIL, detail)


def threshold_rows(splits: np.ndarray, threshold_split: str) -> np.ndarray:
    """Row indices thresholds are fitted on: `oof` means every non-test trailer."""
    wanted = NON_TEST if threshold_split == "oof" else (threshold_split,)
    if "test" in wanted:
        raise ValueError("thresholds are never fitted on the test split")
    return np.flatnonzero(np.isin(splits, wanted))


def run(config: dict[str, Any]) -> dict[str, Any]:
    from moviegenre.evaluation import plots

    data = load_dataset()
    genres = list(data.genres)
    labels = data.labels
    test = data.split_indices("test")
    valid = data.split_indices("valid")
    pick = threshold_rows(data.index["split"].to_numpy(), config["evaluate"]["threshold_split"])
    oof = threshold_rows(data.index["split"].to_numpy(), "oof")
    if len(test) == 0 or len(pick) == 0:
        raise RuntimeError("the test split and the threshold split must not be empty")

    test_metrics: dict[str, dict] = {}
    valid_metrics: dict[str, dict] = {}
    oof_metrics: dict[str, dict] = {}
    thresholds: dict[str, dict[str, float]] = {}
    test_scores: dict[str, np.ndarray] = {}
    rows_by_model: dict[str, Any] = {}
    for model in EVALUATED_MODELS:
        rows, scores = read_predictions(
            paths.predictions_path(model), genres, data.index["trailer_id"]
        )
        rows_by_model[model] = rows
        cut = youden_thresholds(labels[pick], scores[pick])
        thresholds[model] = {g: round(float(t), 6) for g, t in zip(genres, cut, strict=True)}
        test_metrics[model] = evaluate_scores(labels[test], scores[test], cut, genres)
        valid_metrics[model] = evaluate_scores(labels[valid], scores[valid], cut, genres)
        oof_metrics[model] = evaluate_scores(labels[oof], scores[oof], cut, genres)
        test_scores[model] = scores[test]
        ap_rows = [{"genre": g, "ap": ap} for g, ap in test_metrics[model]["ap"].items()]
        plots.write_rows([r for r in ap_rows if r["ap"] is not None], paths.ap_plot_path(model))
        predicted = apply_thresholds(scores[test], cut)
        plots.plot_fault_matrix(
            fault_matrix(labels[test], predicted),
            genres,
            paths.fault_matrix_path(model),
            f"{model}: share wrong for genre i where labels i and j agree (test)",
        )

    baseline = prevalence_baseline(labels[test])
    fallbacks = fallback_models(rows_by_model)
    for model, what in fallbacks.items():
        log.warning("%s is a %s: left out of the DVC metrics, marked in the table", model, what)
    metrics = {
        "test": test_metrics,
        "valid": {
            m: {k: v[k] for k in ("auprc_micro", "auprc_macro")} for m, v in valid_metrics.items()
        },
        "oof": {
            m: {k: v[k] for k in ("auprc_micro", "auprc_macro")} for m, v in oof_metrics.items()
        },
        "prevalence_baseline": {k: baseline[k] for k in ("auprc_micro", "auprc_macro")},
        "n_test": int(len(test)),
        "fallbacks": fallbacks,
    }
    write_metrics(metrics)
    write_json_atomic(
        paths.THRESHOLDS, {"split": config["evaluate"]["threshold_split"], "models": thresholds}
    )
    write_test_plots(labels[test], test_scores, test_metrics, genres)

    table = metrics_table(
        {
            **{f"{m} *" if m in fallbacks else m: v for m, v in test_metrics.items()},
            "prevalence": baseline,
        }
    )
    table += "\n" + TABLE_NOTE
    if fallbacks:
        table += "\n" + "\n".join(f"* {m}: {what}" for m, what in fallbacks.items())
    write_text_atomic(paths.METRICS_TABLE, table + "\n")
    log.info("test metrics (%d trailers):\n%s", len(test), table)
    return metrics


def write_test_plots(
    labels: np.ndarray,
    scores: dict[str, np.ndarray],
    metrics: dict[str, dict],
    genres: list[str],
) -> None:
    """The figures and plot files over every model on test (`labels`, `scores`: its rows):
    PR curves per genre, AP bars, and fold 0's loss curves of each visual model."""
    from moviegenre.evaluation import plots

    for column, genre in enumerate(genres):
        per_model = {m: s[:, column] for m, s in scores.items()}
        rows = plots.interpolated_pr_rows(labels[:, column], per_model)
        plots.write_rows(rows, paths.pr_plot_path(genre))
    plots.plot_pr_curves(labels, scores, genres, paths.PR_CURVES_PNG)
    plots.plot_ap_bars({m: v["ap"] for m, v in metrics.items()}, genres, paths.AP_BARS_PNG)
    histories = {}
    for model in VISUAL_MODELS:  # fold 0's curves stand for the model's k fold models
        history_file = paths.training_log_dir(model, 0) / paths.TRAINING_HISTORY
        if history_file.exists():
            histories[model] = json.loads(history_file.read_text())
    plots.plot_loss_curves(histories, paths.LOSS_CURVES_PNG)


def main(argv: list[str] | None = None) -> int:
    stage_parser(__spec__.name, __doc__).parse_args(argv)
    return stage_main("evaluate", run)


if __name__ == "__main__":
    sys.exit(main())
