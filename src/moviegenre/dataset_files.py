"""Read an assembled data set: what every stage after `dataset` imports.

Kept apart from the builder (moviegenre.dataset), which reads labels and feature shards:
a stage that only reads the result depends on this module alone in dvc.yaml, so editing
the label reader or the Parquet shards reruns the dataset stage and not the 12 fold models.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from moviegenre import paths


class DatasetError(RuntimeError):
    """Nothing usable is left after joining labels and features, or the files disagree."""


@dataclass
class Dataset:
    """The assembled data set: index rows align with the arrays' first axis."""

    index: pd.DataFrame  # trailer_id, split, n_frames, has_audio, silent, one column per genre
    visual: np.ndarray  # float16 [N, F, D], usually a read-only memmap
    audio: np.ndarray  # float32 [N, audio_dim]; rows without audio are zeros (see has_audio)
    genres: tuple[str, ...]

    @property
    def labels(self) -> np.ndarray:
        return self.index[list(self.genres)].to_numpy(dtype=np.float32)

    def split_indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.index["split"].to_numpy() == split)


def load_dataset(directory: Path = paths.DATASET, mmap: bool = True) -> Dataset:
    """Open an assembled data set; the visual array is memory-mapped read-only by default."""
    directory = Path(directory)
    index = pd.read_parquet(directory / paths.DATASET_INDEX)
    report = json.loads((directory / paths.DATASET_REPORT).read_text())
    visual = np.load(directory / paths.DATASET_VISUAL, mmap_mode="r" if mmap else None)
    audio = np.load(directory / paths.DATASET_AUDIO)
    if len(index) != len(visual) or len(index) != len(audio):
        raise DatasetError(f"{directory}: index, visual and audio arrays disagree in length")
    return Dataset(index, visual, audio, tuple(report["genres"]))


def check_aligned(
    path: Path, trailer_ids: Iterable[str], expected_ids: Iterable[str], rerun: str = ""
) -> None:
    """RuntimeError unless the rows of the table at `path` are the data set's, in its order
    (a table a stage made before the data set changed); `rerun` says what remakes it."""
    if list(trailer_ids) != list(expected_ids):
        raise RuntimeError(
            f"{path} is not aligned with the data set" + (f": rerun `{rerun}`" if rerun else "")
        )
