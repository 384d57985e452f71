"""The four visual models of docs/method.md ("Visual models"), built from plain Keras layers.

Every layer is a built-in Keras layer (branch slicing uses `Cropping1D`, not a `Lambda`), so a
saved `.keras` file loads with `keras.saving.load_model` in safe mode and without custom objects.
Hyperparameters come from params.yaml's `train.<model>` (docs/method.md's values are noted there).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from moviegenre.registry import VISUAL_MODELS

__all__ = [
    "RECURRENT_ACTIVATIONS",
    "branch_slices",
    "build_model",
    "model_keys",
    "model_params",
]

#: gate activations of the recurrent models (``train.<model>.recurrent_activation``):
#: ``sigmoid`` is Keras 3's default; the seed's Keras 2.2 defaulted to ``hard_sigmoid``.
#: Keras 3's hard_sigmoid is relu6(x + 3) / 6 (slope 1/6), Keras 2.2's was
#: clip(0.2 x + 0.5, 0, 1) (slope 0.2): the nearest built-in, not the same function.
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid")

# Fixed by docs/method.md rather than tunable: kernel size and pool sizes.
_CNN_KERNEL = 3
_CNN_POOLS = (7, 2)
_GRU_POOL = 3


def model_keys(name: str) -> tuple[str, ...]:
    """The hyperparameters of model `name`: its keys under params.yaml's `train.<name>`,
    read from the config schema (one list; no second copy here)."""
    from moviegenre.config import load_schema

    _check_name(name)
    return tuple(load_schema()["properties"]["train"]["properties"][name]["properties"])


def model_params(name: str, params: dict) -> dict[str, Any]:
    """The model's hyperparameters picked from `params` (a flat dict may hold more keys,
    e.g. the common training ones). Every key is required: params.yaml states them all,
    and the code keeps no second set of defaults that could disagree with it."""
    keys = model_keys(name)
    missing = [key for key in keys if params.get(key) is None]
    if missing:
        raise ValueError(
            f"train.{name}: missing {', '.join(missing)} (params.yaml's train.{name} states them)"
        )
    return {key: params[key] for key in keys}


def branch_slices(branches: int = 12, branch_frames: int = 9) -> list[slice]:
    """Frame ranges of the merge models' branches: branch k gets [k*b, k*b + b) for k = 1..n.

    Branch 0 (the first `branch_frames` frames, usually titles/logos) is skipped as in the
    original method, so the defaults cover frames 9..116.
    """
    if branches < 1 or branch_frames < 1:
        raise ValueError(
            f"branches and branch_frames must be >= 1, got {branches}, {branch_frames}"
        )
    return [slice(k * branch_frames, (k + 1) * branch_frames) for k in range(1, branches + 1)]


def build_model(
    name: str, n_frames: int, dim: int, n_genres: int, params: dict
) -> keras.Model:
    """Build and compile one of VISUAL_MODELS for inputs [n_frames, dim] and n_genres outputs.

    Compiled with Adam(params["learning_rate"]) and binary cross-entropy; the output layer,
    named "genres", is a sigmoid Dense so outputs are per-genre probabilities.
    """
    _check_name(name)
    if n_frames < 1 or dim < 1 or n_genres < 1:
        raise ValueError(
            f"n_frames, dim and n_genres must be >= 1, got {n_frames}, {dim}, {n_genres}"
        )
    hp = model_params(name, params)
    inputs = keras.Input(shape=(n_frames, dim), name="frames")
    builders = {
        "cnn1d": _cnn1d,
        "lstm_merge": _lstm_merge,
        "gru": _gru,
        "gru_merge": _gru_merge,
    }
    outputs = builders[name](inputs, n_frames, n_genres, hp)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(hp["learning_rate"])),
        loss="binary_crossentropy",
    )
    return model


def _check_name(name: str) -> None:
    if name not in VISUAL_MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(VISUAL_MODELS)}")


def _pair(value: Any, what: str) -> tuple[int, int]:
    """Two layer widths from a 2-list (or one int used twice)."""
    if isinstance(value, int):
        return value, value
    values = [int(v) for v in value]
    if len(values) != 2:
        raise ValueError(f"{what} must have 2 values, got {value!r}")
    return values[0], values[1]


def _cnn1d(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """Conv(384,3)-BN-ReLU-Pool(7)-Conv(128,3)-BN-ReLU-Pool(2)-Flatten-Drop-Dense(100)-Drop-out.

    No BatchNorm on the input: the seed builds one and then discards it by mistake.
    """
    filters = _pair(hp["filters"], "cnn1d filters")
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


def _branches(x: Any, n_frames: int, hp: dict) -> list[tuple[str, Any]]:
    """One cropped view of the input per branch, with the branch's name prefix."""
    slices = branch_slices(int(hp["branches"]), int(hp["branch_frames"]))
    needed = slices[-1].stop
    if n_frames < needed:
        raise ValueError(
            f"{len(slices)} branches of {hp['branch_frames']} frames need n_frames >= {needed}, "
            f"got {n_frames}"
        )
    views = []
    for k, part in enumerate(slices, start=1):
        prefix = f"branch_{k:02d}"
        crop = layers.Cropping1D((part.start, n_frames - part.stop), name=f"{prefix}_frames")
        views.append((prefix, crop(x)))
    return views


def _gate(hp: dict) -> str:
    """The recurrent layers' gate activation, checked (a typo must not train silently)."""
    name = str(hp["recurrent_activation"])
    if name not in RECURRENT_ACTIVATIONS:
        raise ValueError(
            f"recurrent_activation must be one of {RECURRENT_ACTIVATIONS}, got {name!r}"
        )
    return name


def _lstm_merge(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """12 branches of LSTM(64)-Pool-LSTM(64)-Pool-Flatten-Drop-Dense(32)-Dense(G, ReLU); merge."""
    units = int(hp["units"])
    gate = _gate(hp)
    if int(hp["branch_frames"]) < 4:
        raise ValueError("lstm_merge needs branch_frames >= 4 (two poolings of 2)")
    outs = []
    for prefix, y in _branches(x, n_frames, hp):
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
    return _merge(outs, n_genres)


def _gru(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """GRU(120, sequences)-MaxPool(3)-GRU(64)-Dense(G, sigmoid) over all frames."""
    first, second = _pair(hp["units"], "gru units")
    gate = _gate(hp)
    if n_frames < _GRU_POOL:
        raise ValueError(f"gru needs at least {_GRU_POOL} frames, got n_frames={n_frames}")
    x = layers.GRU(first, return_sequences=True, recurrent_activation=gate, name="gru_1")(x)
    x = layers.MaxPooling1D(_GRU_POOL, name="pool")(x)
    x = layers.GRU(second, recurrent_activation=gate, name="gru_2")(x)
    return layers.Dense(n_genres, activation="sigmoid", name="genres")(x)


def _gru_merge(x: Any, n_frames: int, n_genres: int, hp: dict) -> Any:
    """12 branches of GRU(120, sequences)-MaxPool(3)-GRU(64)-Dense(G, ReLU); merge."""
    first, second = _pair(hp["units"], "gru_merge units")
    gate = _gate(hp)
    if int(hp["branch_frames"]) < _GRU_POOL:
        raise ValueError(f"gru_merge needs branch_frames >= {_GRU_POOL}")
    outs = []
    for prefix, y in _branches(x, n_frames, hp):
        y = layers.GRU(
            first, return_sequences=True, recurrent_activation=gate, name=f"{prefix}_gru_1"
        )(y)
        y = layers.MaxPooling1D(_GRU_POOL, name=f"{prefix}_pool")(y)
        y = layers.GRU(second, recurrent_activation=gate, name=f"{prefix}_gru_2")(y)
        outs.append(layers.Dense(n_genres, activation="relu", name=f"{prefix}_out")(y))
    return _merge(outs, n_genres)


def _merge(outs: list[Any], n_genres: int) -> Any:
    """Concatenate the branch outputs and map them to sigmoid genre probabilities."""
    x = layers.Concatenate(name="concat")(outs) if len(outs) > 1 else outs[0]
    return layers.Dense(n_genres, activation="sigmoid", name="genres")(x)
