"""The fixed-length frame input of the visual models, for training, the pipeline and predict.

A model reads ``dataset.max_frames`` frames; a trailer with fewer is zero-padded at the
end, one with more is cut. The data set keeps at most ``n_frames`` frames per trailer (its
longest trailer's count, capped at max_frames), so a new trailer is cut there too before
padding: the same input the pipeline built for a trailer of the data set.
"""

from __future__ import annotations

import numpy as np


def pad_frames(
    features: np.ndarray,
    max_frames: int,
    rows: np.ndarray | None = None,
    n_frames: int | None = None,
) -> np.ndarray:
    """float32 [len(rows), max_frames, D] from features [N, F, D] (all rows by default).

    Each row keeps its first ``min(F, n_frames, max_frames)`` frames, zeros after. Only
    those frames of the chosen rows are read (``features`` may be a large memmap).
    """
    if features.ndim != 3:
        raise ValueError(f"features must be [N, frames, dim], got shape {features.shape}")
    keep = min(features.shape[1], int(max_frames), int(n_frames or max_frames))
    kept = features[:, :keep] if rows is None else features[rows, :keep]
    x = np.zeros((len(kept), int(max_frames), features.shape[2]), dtype=np.float32)
    x[:, :keep] = kept
    return x
