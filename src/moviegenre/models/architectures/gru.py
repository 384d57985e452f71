"""GRU (docs/method.md, "Visual models"): two GRUs over all frames."""

from __future__ import annotations

from typing import Any

from keras import layers

from moviegenre.models.architectures.common import gate_activation, pair

_GRU_POOL = 3


def build(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """GRU(120, sequences)-MaxPool(3)-GRU(64)-Dense(G, sigmoid) over all frames."""
    first, second = pair(hp["units"], "gru units")
    gate = gate_activation(hp)
    if n_frames < _GRU_POOL:
        raise ValueError(f"gru needs at least {_GRU_POOL} frames, got n_frames={n_frames}")
    x = layers.GRU(first, return_sequences=True, recurrent_activation=gate, name="gru_1")(x)
    x = layers.MaxPooling1D(_GRU_POOL, name="pool")(x)
    x = layers.GRU(second, recurrent_activation=gate, name="gru_2")(x)
    return layers.Dense(n_genres, activation="sigmoid", name="genres")(x)
