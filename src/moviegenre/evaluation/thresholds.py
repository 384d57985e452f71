"""Per-genre decision thresholds at the Youden point of each genre's ROC curve (docs/method.md).

The seed computed a threshold per genre in a loop but kept only the last one and applied it to
every genre; here each genre keeps its own.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_curve

__all__ = ["apply_thresholds", "youden_thresholds"]


def _check_pair(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 2 or y.shape != s.shape:
        raise ValueError(
            f"expected y_true and scores of the same shape [N, G], got {y.shape}, {s.shape}"
        )
    return y, s


def youden_thresholds(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """[G] thresholds, per genre the ROC point maximising TPR - FPR (Youden's J).

    Fit them on predictions the model did not train on (validation or out-of-fold), then apply
    them to test predictions. Ties go to the highest threshold. A genre with one class only has
    no ROC curve and gets 0.5. Thresholds are clipped to [0, 1]: roc_curve's first threshold is
    +inf ("predict nothing"), which becomes 1.0.
    """
    y, s = _check_pair(y_true, scores)
    out = np.full(y.shape[1], 0.5)
    for g in range(y.shape[1]):
        if len(np.unique(y[:, g])) < 2:
            continue
        fpr, tpr, thr = roc_curve(y[:, g], s[:, g], drop_intermediate=False)
        out[g] = np.clip(thr[int(np.argmax(tpr - fpr))], 0.0, 1.0)
    return out


def apply_thresholds(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """uint8 [N, G] predictions: ``scores[:, g] >= thresholds[g]``."""
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(thresholds, dtype=np.float64)
    if s.ndim != 2 or t.shape != (s.shape[1],):
        raise ValueError(f"expected scores [N, G] and thresholds [G], got {s.shape}, {t.shape}")
    return (s >= t[None, :]).astype(np.uint8)
