"""GRU merge (docs/method.md, "Visual models"): 12 branches of two GRUs, merged."""

from __future__ import annotations

from typing import Any

from keras import layers

from moviegenre.models.architectures.common import branches, gate_activation, merge, pair

_GRU_POOL = 3


def build(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """12 branches of GRU(120, sequences)-MaxPool(3)-GRU(64)-Dense(G, ReLU); merge."""
    first, second = pair(hp["units"], "gru_merge units")
    gate = gate_activation(hp)
    if int(hp["branch_frames"]) < _GRU_POOL:
        raise ValueError(f"gru_merge needs branch_frames >= {_GRU_POOL}")
    outs = []
    for prefix, y in branches(x, n_frames, hp):
        y = layers.GRU(
            first, return_sequences=True, recurrent_activation=gate, name=f"{prefix}_gru_1"
        )(y)
        y = layers.MaxPooling1D(_GRU_POOL, name=f"{prefix}_pool")(y)
        y = layers.GRU(second, recurrent_activation=gate, name=f"{prefix}_gru_2")(y)
        outs.append(layers.Dense(n_genres, activation="relu", name=f"{prefix}_out")(y))
    return merge(outs, n_genres)
