"""Late fusion of audio features and visual-model probabilities with per-genre SVMs."""

from __future__ import annotations

from moviegenre.fusion.svm import (
    ALLOWED_TYPES,
    DEFAULT_C_GRID,
    DEFAULT_GAMMA_GRID,
    GenreSVMs,
    fusion_features,
    load_svms,
    log_grid,
    minmax_rows,
    save_svms,
)

__all__ = [
    "ALLOWED_TYPES",
    "DEFAULT_C_GRID",
    "DEFAULT_GAMMA_GRID",
    "GenreSVMs",
    "fusion_features",
    "load_svms",
    "log_grid",
    "minmax_rows",
    "save_svms",
]
