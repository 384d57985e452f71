"""The four visual models of docs/method.md ("Visual models"), built from plain Keras layers.

One module per model (cnn1d.py, lstm_merge.py, gru.py, gru_merge.py, each with a
``build(inputs, n_frames, n_genres, hp)``) and what they share (common.py): a model's DVC
stages (train@<model>-*) depend on its own module only, so editing GRU's code retrains
GRU's folds and no other model's. ``build_model`` imports the named model's module alone.

Every layer is a built-in Keras layer (branch slicing uses `Cropping1D`, not a `Lambda`), so a
saved `.keras` file loads with `keras.saving.load_model` in safe mode and without custom objects.
Hyperparameters come from params.yaml's `train.<model>` (docs/method.md's values are noted there).
"""

from __future__ import annotations

import importlib
from typing import Any

import keras

from moviegenre.models.architectures.common import RECURRENT_ACTIVATIONS, branch_slices
from moviegenre.registry import VISUAL_MODELS

__all__ = [
    "RECURRENT_ACTIVATIONS",
    "branch_slices",
    "build_model",
    "model_keys",
    "model_params",
]


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


def build_model(name: str, n_frames: int, dim: int, n_genres: int, params: dict) -> keras.Model:
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
    # the model's own module only (moviegenre.models.architectures.<name>)
    module = importlib.import_module(f"{__name__}.{name}")
    outputs = module.build(inputs, n_frames, n_genres, hp)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(hp["learning_rate"])),
        loss="binary_crossentropy",
    )
    return model


def _check_name(name: str) -> None:
    if name not in VISUAL_MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(VISUAL_MODELS)}")
