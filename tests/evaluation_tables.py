"""A crafted evaluation input shared by the evaluate stage's tests and the chart tests: a data
set and one score table per evaluated model (write_tables).

Test rows follow a different rule from the other splits (scores shifted down), so a Youden
threshold chosen on them differs from the one chosen on the non-test rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from helpers import write_dataset

from moviegenre.genres import GENRES_9
from moviegenre.paths import predictions_path
from moviegenre.predictions import write_predictions
from moviegenre.registry import EVALUATED_MODELS

#: trailers per split in write_tables' data set
N_TRAIN, N_VALID, N_TEST = 24, 16, 20


def write_tables(
    root: Path, genres: tuple[str, ...] = GENRES_9
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A data set and one score table per evaluated model; returns labels, splits, scores."""
    rng = np.random.default_rng(7)
    n = N_TRAIN + N_VALID + N_TEST
    g_count = len(genres)
    splits = np.array(["train"] * N_TRAIN + ["valid"] * N_VALID + ["test"] * N_TEST)
    labels = (rng.random((n, g_count)) < 0.4).astype(np.uint8)
    labels[:2, :] = [[1], [0]]  # every genre has both classes in every split
    labels[N_TRAIN : N_TRAIN + 2, :] = [[1], [0]]
    labels[-2:, :] = [[1], [0]]
    audio = np.zeros((n, 140), dtype=np.float32)
    index = write_dataset(root, labels, splits, genres, audio, np.zeros((n, 2, 3), np.float16))
    scores = {}
    test = splits == "test"
    for model in list(EVALUATED_MODELS):
        s = np.clip(0.35 * labels + 0.65 * rng.random((n, g_count)), 0, 1)
        s[test] = s[test] * 0.5  # test follows another rule: its Youden points sit lower
        s = s.astype(np.float32)
        write_predictions(predictions_path(model), index["trailer_id"], splits, s, list(genres))
        scores[model] = s
    return labels, splits, scores
