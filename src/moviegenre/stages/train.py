"""DVC stage train@<model>: fit one visual model; save it and its probabilities for all splits."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre import paths
from moviegenre.dataset import load_dataset
from moviegenre.predictions import predictions_path, write_predictions

log = logging.getLogger("moviegenre.train")

TRAINING_LOGS = paths.RESULTS / "training"


def model_path(name: str) -> Path:
    return paths.MODELS / f"{name}.keras"


def model_params(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The common training keys merged with the model's own (params.yaml train.<name>)."""
    train = config["train"]
    common = {key: train[key] for key in ("seed", "batch_size", "epochs", "patience")}
    return {**common, **train[name]}


def run(config: dict[str, Any], name: str) -> None:
    from moviegenre.models.train import (
        load_model,
        predict_probabilities,
        set_determinism,
        train_model,
    )
    from moviegenre.runtime import configure_tensorflow

    configure_tensorflow()
    params = model_params(config, name)
    set_determinism(int(params["seed"]))
    data = load_dataset()
    max_frames = int(config["dataset"]["max_frames"])
    train_idx, valid_idx = data.split_indices("train"), data.split_indices("valid")
    log.info(
        "training %s on %d trailers (valid %d), %d genres, frames %s -> %d",
        name,
        len(train_idx),
        len(valid_idx),
        len(data.genres),
        data.visual.shape[1:],
        max_frames,
    )
    result = train_model(
        name,
        data.visual,
        data.labels,
        train_idx,
        valid_idx,
        params,
        max_frames,
        model_path(name),
        TRAINING_LOGS / name,
    )
    log.info("%s: best epoch %d of %d", name, result.best_epoch, result.epochs_run)
    model = load_model(model_path(name))
    everything = np.arange(len(data.index))
    probabilities = predict_probabilities(model, data.visual, everything, max_frames)
    write_predictions(
        predictions_path(name),
        data.index["trailer_id"],
        data.index["split"],
        probabilities,
        data.genres,
    )
