"""Per-trailer probabilities as Parquet: the hand-off between training, fusion and evaluation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from moviegenre.atomic import write_atomic
from moviegenre.dataset_files import check_aligned


def write_predictions(
    path: Path,
    trailer_ids: Sequence[str],
    splits: Sequence[str],
    probabilities: np.ndarray,
    genres: Sequence[str],
    audio_missing: Sequence[bool] | None = None,
) -> None:
    """One row per trailer: id, split, whether audio was missing, one probability per genre."""
    frame = pd.DataFrame({"trailer_id": list(trailer_ids), "split": list(splits)})
    frame["audio_missing"] = (
        np.zeros(len(frame), dtype=bool) if audio_missing is None else np.asarray(audio_missing)
    )
    for column, genre in enumerate(genres):
        frame[genre] = np.asarray(probabilities[:, column], dtype=np.float32)
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def read_predictions(
    path: Path,
    genres: Sequence[str],
    expected_ids: Iterable[str] | None = None,
    rerun: str = "",
) -> tuple[pd.DataFrame, np.ndarray]:
    """(rows with trailer_id / split / audio_missing, probabilities [N, G] in genre order).

    With `expected_ids` (the data set's trailer ids), the rows must be those: see
    moviegenre.dataset_files.check_aligned.
    """
    frame = pd.read_parquet(path)
    missing = [g for g in genres if g not in frame.columns]
    if missing:
        raise ValueError(f"{path}: no probability column for {', '.join(missing)}")
    if expected_ids is not None:
        check_aligned(path, frame["trailer_id"], expected_ids, rerun)
    return frame, frame[list(genres)].to_numpy(dtype=np.float32)
