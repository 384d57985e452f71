"""Multi-label metrics for genre scores: AU-PRC (micro, macro, weighted), per-genre AP, hamming
loss and F1 on thresholded predictions, the prevalence baseline and the seed's fault matrix."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

from moviegenre.evaluation.thresholds import apply_thresholds

__all__ = ["evaluate_scores", "fault_matrix", "metrics_table", "prevalence_baseline"]

DEFAULT_TABLE_KEYS: tuple[str, ...] = ("auprc_micro", "auprc_macro", "hamming_loss", "f1_macro")


def _r(x: float) -> float | None:
    """A plain rounded float for JSON; NaN becomes None (null)."""
    x = float(x)
    return None if math.isnan(x) else round(x, 4)


def evaluate_scores(
    y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, genres: Sequence[str]
) -> dict:
    """Metrics of one model's [N, G] scores, as plain floats rounded to 4 decimals.

    Keys: ``auprc_micro``, ``auprc_macro``, ``auprc_weighted`` (average precision),
    ``hamming_loss``, ``f1_micro``, ``f1_macro`` (on ``apply_thresholds(scores, thresholds)``) and
    ``ap`` ({genre: AP}). A genre with no positive in ``y_true`` has no defined AP: it is stored as
    None (null) and left out of both macro averages (AU-PRC and F1), where scikit-learn would count
    it as 0 and drag the mean down for a genre the split simply lacks. Micro and weighted averages
    are unaffected (it has no positives, so no weight).
    """
    y = np.asarray(y_true).astype(np.int64)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 2 or y.shape != s.shape or len(genres) != y.shape[1]:
        raise ValueError(
            f"expected y_true and scores [N, G] with G = {len(genres)} genres, "
            f"got {y.shape} and {s.shape}"
        )
    pred = apply_thresholds(s, thresholds)
    support = y.sum(axis=0)
    present = support > 0
    ap = np.full(y.shape[1], np.nan)
    for g in np.flatnonzero(present):
        ap[g] = average_precision_score(y[:, g], s[:, g])
    any_pos = bool(present.any())
    micro = average_precision_score(y, s, average="micro") if any_pos else np.nan
    # = sklearn's "weighted", without its warning for the zero-weight absent genres
    weighted = float(np.sum(ap[present] * support[present]) / support.sum()) if any_pos else np.nan
    macro = float(np.mean(ap[present])) if any_pos else np.nan
    f1_macro = (
        f1_score(y[:, present], pred[:, present], average="macro", zero_division=0)
        if any_pos
        else np.nan
    )
    return {
        "auprc_micro": _r(micro),
        "auprc_macro": _r(macro),
        "auprc_weighted": _r(weighted),
        "hamming_loss": _r(hamming_loss(y, pred)),
        "f1_micro": _r(f1_score(y, pred, average="micro", zero_division=0)),
        "f1_macro": _r(f1_macro),
        "ap": {str(name): _r(v) for name, v in zip(genres, ap, strict=True)},
    }


def prevalence_baseline(y_true: np.ndarray) -> dict:
    """AU-PRC of a constant (uninformative) scorer, the floor any model must beat.

    A constant score ranks nothing, so its AP is the positive rate: micro = overall share of
    positive labels, macro = mean per-genre prevalence (genres without positives left out, as in
    :func:`evaluate_scores`), weighted = support-weighted prevalence. ``prevalence`` lists the
    per-genre rates.
    """
    y = np.asarray(y_true).astype(np.float64)
    if y.ndim != 2 or len(y) == 0:
        raise ValueError(f"expected a non-empty [N, G] label matrix, got shape {y.shape}")
    prev = y.mean(axis=0)
    present = prev > 0
    support = y.sum(axis=0)
    return {
        "auprc_micro": _r(y.mean()),
        "auprc_macro": _r(prev[present].mean() if present.any() else np.nan),
        "auprc_weighted": _r((prev * support).sum() / support.sum() if support.sum() else np.nan),
        "prevalence": [_r(p) for p in prev],
    }


def fault_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """[G, G] matrix: F[i, j] = among trailers whose labels i and j agree, the share whose
    prediction for genre i is wrong (the seed's "fault" figure). NaN where no trailer qualifies.

    The diagonal is each genre's error rate; off the diagonal it shows whether genre i is missed
    more often when it co-occurs with (or is absent together with) genre j.
    """
    y = np.asarray(y_true).astype(np.int64)
    p = np.asarray(y_pred).astype(np.int64)
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(
            f"expected y_true and y_pred of the same shape [N, G], got {y.shape}, {p.shape}"
        )
    agree = (y[:, :, None] == y[:, None, :]).astype(np.float64)  # [N, i, j]
    wrong = (p != y).astype(np.float64)[:, :, None]  # [N, i, 1]
    count = agree.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (agree * wrong).sum(axis=0) / count, np.nan)


def metrics_table(metrics: Mapping[str, Mapping], keys: Sequence[str] = DEFAULT_TABLE_KEYS) -> str:
    """A fixed-width text table, one row per model name, one column per metric key.

    Missing or null values print as "-", so models evaluated with different keys still line up.
    """
    keys = list(keys)
    names = list(metrics)
    name_w = max([len("model"), *(len(n) for n in names)])
    col_w = [max(len(k), 7) for k in keys]

    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        if isinstance(v, int | float):
            return f"{v:.4f}"
        return str(v)

    def line(first: str, cells: Sequence[str]) -> str:
        parts = [first.ljust(name_w)] + [c.rjust(w) for c, w in zip(cells, col_w, strict=True)]
        return "  ".join(parts)

    lines = [line("model", keys), line("-" * name_w, ["-" * w for w in col_w])]
    lines += [line(n, [cell(metrics[n].get(k)) for k in keys]) for n in names]
    return "\n".join(lines)
