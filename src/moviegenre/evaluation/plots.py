"""Figures and DVC plot data for the evaluation: PR curves, loss curves, fault matrices, AP bars.

Figures are drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend
switch, safe in workers without a display). Every writer saves atomically (temporary file, then
``os.replace``) so that a DVC or Snakemake output is never a half-written file, and returns the
path it wrote.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.metrics import precision_recall_curve

from moviegenre.atomic import write_atomic, write_text_atomic

__all__ = [
    "ap_bars_figure",
    "loss_curves_figure",
    "plot_ap_bars",
    "plot_fault_matrix",
    "plot_loss_curves",
    "interpolated_pr_rows",
    "interpolated_precision",
    "plot_pr_curves",
    "pr_curves_figure",
    "write_rows",
]


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))


def _pr_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    precision, recall, _ = precision_recall_curve(y, s)
    return recall, precision


def interpolated_precision(
    y_true: np.ndarray, scores: np.ndarray, recall_grid: Sequence[float]
) -> np.ndarray:
    """At each recall r of ``recall_grid``, the best precision among the operating points
    with recall at least r (0.0 where none reaches it): the usual "interpolated" reading of
    a PR curve, which never rises as recall grows. ``y_true``, ``scores``: 1-D, one genre."""
    precision, recall, _ = precision_recall_curve(
        np.asarray(y_true), np.asarray(scores, dtype=np.float64)
    )
    out = np.zeros(len(recall_grid))
    for k, r in enumerate(recall_grid):
        reachable = precision[recall >= r - 1e-12]
        out[k] = reachable.max() if reachable.size else 0.0
    return out


def interpolated_pr_rows(
    y_true: np.ndarray, scores_by_model: Mapping[str, np.ndarray], points: int = 51
) -> list[dict]:
    """One genre's PR curves on a shared recall grid: rows ``{"recall", <model>: precision}``.

    Precision is interpolated (see :func:`interpolated_precision`); a shared grid lets DVC
    draw every model in one chart and compare revisions. ``y_true`` and each score array
    are 1-D for the genre; a genre without positives has recall rows only.
    """
    y = np.asarray(y_true)
    grid = np.linspace(0.0, 1.0, points)
    rows = [{"recall": round(float(r), 4)} for r in grid]
    if not y.any():
        return rows
    for model, scores in scores_by_model.items():
        for row, p in zip(rows, interpolated_precision(y, scores, grid), strict=True):
            row[str(model)] = round(float(p), 4)
    return rows


def write_rows(rows: Sequence[Mapping], path: Path) -> Path:
    """Write plot rows as a DVC plots file: a JSON list for ``.json``, a CSV for ``.csv``."""
    path = Path(path)
    if path.suffix == ".json":
        text = json.dumps(list(map(dict, rows)), indent=1) + "\n"
    elif path.suffix == ".csv":
        buf = io.StringIO()
        fields = list(rows[0]) if rows else []
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        raise ValueError(f"{path}: expected a .json or .csv file")
    return write_text_atomic(path, text)


def _grid(n: int, ncols: int = 3, size: float = 3.2) -> tuple[Figure, list]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(size * ncols, size * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def plot_pr_curves(
    y_true: np.ndarray,
    scores_by_model: Mapping[str, np.ndarray],
    genres: Sequence[str],
    path: Path,
) -> Path:
    """One precision-recall panel per genre, one line per model; the dashed line is the
    genre's prevalence (a constant scorer's precision). See :func:`pr_curves_figure`."""
    return _save(pr_curves_figure(y_true, scores_by_model, genres), path)


def pr_curves_figure(
    y_true: np.ndarray, scores_by_model: Mapping[str, np.ndarray], genres: Sequence[str]
) -> Figure:
    """The PR panels with one shared legend outside them, so that no legend covers a
    curve (each model's per-genre AP is in the AP chart and the metrics detail)."""
    y = np.asarray(y_true)
    fig, axes = _grid(len(genres))
    colors = {m: f"C{k % 10}" for k, m in enumerate(scores_by_model)}
    for g, (ax, name) in enumerate(zip(axes, genres, strict=True)):
        ax.set_title(name)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        if not y[:, g].any():
            ax.text(0.5, 0.5, "no positives", ha="center", va="center")
            continue
        for model, scores in scores_by_model.items():
            s = np.asarray(scores, dtype=np.float64)[:, g]
            recall, precision = _pr_curve(y[:, g], s)
            ax.step(recall, precision, where="post", color=colors[model], label=model)
        ax.axhline(y[:, g].mean(), color="grey", linestyle="--", linewidth=0.8)
    handles = [Line2D([], [], color=colors[m], label=m) for m in scores_by_model]
    handles.append(Line2D([], [], color="grey", linestyle="--", label="prevalence"))
    fig.legend(handles=handles, loc="outside right upper", fontsize="small")
    fig.suptitle("Precision-recall per genre (test split)")
    return fig


def plot_loss_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], path: Path) -> Path:
    """Save :func:`loss_curves_figure` as a PNG."""
    return _save(loss_curves_figure(histories), path)


def loss_curves_figure(histories: Mapping[str, Mapping[str, Sequence[float]]]) -> Figure:
    """Training and validation loss per epoch, one panel per model; the best epoch (lowest
    validation loss, the weights early stopping keeps) is marked. Without any history the
    figure says so instead of showing an empty frame."""
    fig, axes = _grid(max(1, len(histories)), ncols=2, size=4.0)
    fig.suptitle("Training loss per epoch (fold 0 of each model)")
    if not histories:
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, "no training history", ha="center", va="center")
    for ax, (model, hist) in zip(axes, histories.items(), strict=False):
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        for key, style in (("loss", "-"), ("val_loss", "--")):
            values = list(hist.get(key) or [])
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=key)
        monitor = list(hist.get("val_loss") or hist.get("loss") or [])
        if monitor:
            best = int(np.nanargmin(monitor))
            ax.axvline(best + 1, color="grey", linestyle=":", linewidth=1)
            ax.plot([best + 1], [monitor[best]], "o", color="red", label=f"best epoch {best + 1}")
        ax.legend(fontsize="small")
    return fig


def plot_fault_matrix(matrix: np.ndarray, genres: Sequence[str], path: Path, title: str) -> Path:
    """Heatmap of :func:`moviegenre.evaluation.metrics.fault_matrix` with each value printed
    (blank where undefined). Rows: the genre whose prediction is judged; columns: the genre
    whose label agrees with it."""
    m = np.asarray(matrix, dtype=np.float64)
    n = len(genres)
    if m.shape != (n, n):
        raise ValueError(f"expected a [{n}, {n}] matrix, got shape {m.shape}")
    side = 1.0 + 0.7 * n
    fig = Figure(figsize=(side + 1.5, side), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(np.ma.masked_invalid(m), vmin=0.0, vmax=1.0, cmap="Reds")
    for i in range(n):
        for j in range(n):
            if np.isfinite(m[i, j]):
                color = "white" if m[i, j] > 0.6 else "black"
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(n), labels=list(genres), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(genres))
    ax.set_xlabel("labels agree with genre")
    ax.set_ylabel("prediction wrong for genre")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def plot_ap_bars(
    ap_by_model: Mapping[str, Mapping[str, float | None]], genres: Sequence[str], path: Path
) -> Path:
    """Save :func:`ap_bars_figure` as a PNG."""
    return _save(ap_bars_figure(ap_by_model, genres), path)


def ap_bars_figure(
    ap_by_model: Mapping[str, Mapping[str, float | None]], genres: Sequence[str]
) -> Figure:
    """Per-genre average precision as grouped bars, one bar per model (missing/null: no bar);
    the legend stands beside the axes so that it covers no bar."""
    models = list(ap_by_model)
    n = len(genres)
    x = np.arange(n)
    width = 0.8 / max(1, len(models))
    fig = Figure(figsize=(max(6.0, 0.9 * n + 2) + 1.8, 4.0), layout="constrained")
    ax = fig.subplots()
    for k, model in enumerate(models):
        vals = [ap_by_model[model].get(g) for g in genres]
        heights = np.array([np.nan if v is None else float(v) for v in vals])
        ax.bar(x - 0.4 + width * (k + 0.5), np.nan_to_num(heights), width, label=model)
    ax.set_xticks(x, labels=list(genres), rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("average precision")
    ax.set_title("Average precision per genre (test split)")
    fig.legend(loc="outside right upper", fontsize="small")
    return fig
