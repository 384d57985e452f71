"""LSTM merge (docs/method.md, "Visual models"): 12 branches of two LSTMs, merged."""

from __future__ import annotations

from typing import Any

from keras import layers

from moviegenre.models.architectures.common import branches, gate_activation, merge


def build(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """12 branches of LSTM(64)-Pool-LSTM(64)-Pool-Flatten-Drop-Dense(32)-Dense(G, ReLU); merge."""
    units = int(hp["units"])
    gate = gate_activation(hp)
    if int(hp["branch_frames"]) < 4:
        raise ValueError("lstm_merge needs branch_frames >= 4 (two poolings of 2)")
    outs = []
    for prefix, y in branches(x, n_frames, hp):
        y = layers.LSTM(
            units, return_sequences=True, recurrent_activation=gate, name=f"{prefix}_lstm_1"
        )(y)
        y = layers.MaxPooling1D(name=f"{prefix}_pool_1")(y)
        y = layers.LSTM(
            units, return_sequences=True, recurrent_activation=gate, name=f"{prefix}_lstm_2"
        )(y)
        y = layers.MaxPooling1D(name=f"{prefix}_pool_2")(y)
        y = layers.Flatten(name=f"{prefix}_flatten")(y)
        y = layers.Dropout(float(hp["dropout"]), name=f"{prefix}_dropout")(y)
        y = layers.Dense(int(hp["dense_units"]), activation="relu", name=f"{prefix}_dense")(y)
        outs.append(layers.Dense(n_genres, activation="relu", name=f"{prefix}_out")(y))
    return merge(outs, n_genres)
