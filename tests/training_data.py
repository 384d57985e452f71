"""A learnable toy problem for the training tests: frame features where genre g is on when
feature g's mean over the frames is positive (toy_data), split into TOY_TRAIN and TOY_VALID
rows, and the params of a CNN1D small enough to learn it in seconds (TINY_CNN1D).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: the toy data's shape: trailers, frames per trailer, feature width, genres
TOY_TRAILERS, TOY_FRAMES, TOY_DIM, TOY_GENRES = 48, 32, 8, 2
#: the toy data's training and validation rows
TOY_TRAIN, TOY_VALID = np.arange(0, 32), np.arange(32, 48)
#: a tiny CNN1D's params: the training loop is the same for every architecture
TINY_CNN1D = {
    "seed": 3,
    "batch_size": 8,
    "epochs": 30,
    "patience": 3,
    "learning_rate": 0.01,
    "filters": [8, 8],
    "dense_units": 8,
    "dropout": 0.0,
}


def memmap(tmp_path: Path, array: np.ndarray) -> np.ndarray:
    """``array`` saved as tmp_path/features.npy and opened as a read-only memmap (as stages do)."""
    np.save(tmp_path / "features.npy", array)
    return np.load(tmp_path / "features.npy", mmap_mode="r")


def toy_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Genre g is on when the mean of feature g over the frames is positive."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(TOY_TRAILERS, TOY_FRAMES, TOY_DIM)).astype(np.float32)
    features[:, :, :TOY_GENRES] += rng.choice([-1.0, 1.0], size=(TOY_TRAILERS, 1, TOY_GENRES))
    labels = (features[:, :, :TOY_GENRES].mean(axis=1) > 0).astype(np.int8)
    return features.astype(np.float16), labels
