"""Batches of frame features read from a (memory-mapped) [N, F, D] array.

The feature array of the whole data set is several GB of float16, so it is never copied:
each batch gathers only its rows, casts them to float32 and pads/truncates the frames
(models/frames.py, the input `moviegenre predict` builds too).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from moviegenre.models.frames import pad_frames


class FrameBatches(keras.utils.PyDataset):
    """Keras batches of `features[indices]` as float32 [B, max_frames, D], with labels if given.

    Rows are zero-padded at the end (or truncated) to `max_frames` frames. With `shuffle`, the
    order of `indices` is permuted per epoch by a generator seeded from (seed, epoch), so a rerun
    sees the same batches. Without shuffle, batches follow `indices` in order (predictions line
    up with `indices`). `labels` is aligned with `features` rows ([N, G]) and gathered alike.
    """

    def __init__(
        self,
        features: np.ndarray,
        indices: np.ndarray,
        max_frames: int,
        batch_size: int,
        labels: np.ndarray | None = None,
        shuffle: bool = False,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if features.ndim != 3:
            raise ValueError(f"features must be [N, frames, dim], got shape {features.shape}")
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and not np.issubdtype(indices.dtype, np.integer)):
            raise ValueError(
                f"indices must be a 1-D integer array, got {indices.dtype} {indices.shape}"
            )
        indices = indices.astype(np.int64)
        n = features.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise ValueError(f"indices out of range for {n} feature rows")
        if labels is not None:
            labels = np.asarray(labels)
            if labels.ndim != 2 or labels.shape[0] != n:
                raise ValueError(
                    f"labels must be [N={n}, genres] aligned with features, got {labels.shape}"
                )
        if max_frames < 1 or batch_size < 1:
            raise ValueError(
                f"max_frames and batch_size must be >= 1, got {max_frames}, {batch_size}"
            )
        self.features = features
        self.indices = indices
        self.labels = labels
        self.max_frames = int(max_frames)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.epoch = 0
        self._order = self._epoch_order()

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range ({len(self)} batches)")
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        x = self.gather(rows)
        if self.labels is None:
            return x
        return x, self.labels[rows].astype(np.float32)

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """float32 [len(rows), max_frames, D] for these feature rows, in the order given.

        Reads the rows in sorted order (sequential access on a memmap), then puts them back.
        """
        x = np.empty((len(rows), self.max_frames, self.features.shape[2]), dtype=np.float32)
        order = np.argsort(rows, kind="stable")
        x[order] = pad_frames(self.features, self.max_frames, rows=rows[order])
        return x

    def on_epoch_end(self) -> None:
        """Move to the next epoch's permutation (only when shuffling)."""
        if self.shuffle:
            self.set_epoch(self.epoch + 1)

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of this epoch (e.g. to resume or replay a run)."""
        self.epoch = int(epoch)
        self._order = self._epoch_order()

    def _epoch_order(self) -> np.ndarray:
        if not self.shuffle:
            return self.indices
        rng = np.random.default_rng([self.seed, self.epoch])
        return self.indices[rng.permutation(len(self.indices))]
