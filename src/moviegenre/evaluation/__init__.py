"""Thresholds and metrics for multi-label genre scores.

Figures live in :mod:`moviegenre.evaluation.plots`, imported on demand so that computing metrics
does not load matplotlib.
"""

from __future__ import annotations

from moviegenre.evaluation.metrics import (
    evaluate_scores,
    fault_matrix,
    metrics_table,
    prevalence_baseline,
)
from moviegenre.evaluation.thresholds import apply_thresholds, youden_thresholds

__all__ = [
    "apply_thresholds",
    "evaluate_scores",
    "fault_matrix",
    "metrics_table",
    "prevalence_baseline",
    "youden_thresholds",
]
