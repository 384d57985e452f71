"""CNN1D (docs/method.md, "Visual models"): two convolution blocks over all frames."""

from __future__ import annotations

from typing import Any

from keras import layers

from moviegenre.models.architectures.common import pair

# Fixed by docs/method.md rather than tunable: kernel size and pool sizes.
_CNN_KERNEL = 3
_CNN_POOLS = (7, 2)


def build(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """Conv(384,3)-BN-ReLU-Pool(7)-Conv(128,3)-BN-ReLU-Pool(2)-Flatten-Drop-Dense(100)-Drop-out.

    No BatchNorm on the input: the seed builds one and then discards it by mistake.
    """
    filters = pair(hp["filters"], "cnn1d filters")
    length = n_frames
    for pool in _CNN_POOLS:
        length = (length - _CNN_KERNEL + 1) // pool
    if length < 1:
        raise ValueError(f"cnn1d needs at least 30 frames, got n_frames={n_frames}")
    for i, (width, pool) in enumerate(zip(filters, _CNN_POOLS, strict=True), start=1):
        x = layers.Conv1D(width, _CNN_KERNEL, name=f"conv_{i}")(x)
        x = layers.BatchNormalization(name=f"bn_{i}")(x)
        x = layers.ReLU(name=f"relu_{i}")(x)
        x = layers.MaxPooling1D(pool, name=f"pool_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(float(hp["dropout"]), name="dropout_1")(x)
    x = layers.Dense(int(hp["dense_units"]), activation="relu", name="dense")(x)
    x = layers.Dropout(float(hp["dropout"]), name="dropout_2")(x)
    return layers.Dense(n_genres, activation="sigmoid", name="genres")(x)
