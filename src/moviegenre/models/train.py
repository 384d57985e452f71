"""Training, prediction and loading of the visual models (docs/method.md, "Visual models").

Adam, binary cross-entropy, early stopping on validation loss that keeps the best weights;
per-epoch curves go to dvclive (without dvclive touching any dvc.yaml or saving experiments,
since the project's dvc.yaml declares the plots), and the model is saved atomically in the
Keras native format so an interrupted run never leaves a half-written model behind.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from moviegenre import paths
from moviegenre.atomic import write_atomic, write_json_atomic
from moviegenre.models.architectures import build_model, model_params
from moviegenre.models.batches import FrameBatches
from moviegenre.registry import VISUAL_MODELS

# docs/method.md: batch 32, at most 100 epochs, patience 5.
#: params.yaml's `train` keys every model shares
COMMON_KEYS = ("seed", "batch_size", "epochs", "patience")


@dataclass
class TrainResult:
    """What a training run did: best_epoch and epochs_run count epochs from 1; `model`, the
    best-epoch model as saved (so the caller predicts without loading it back)."""

    best_epoch: int
    epochs_run: int
    history: dict[str, list[float]] = field(default_factory=dict)
    model: keras.Model | None = field(default=None, repr=False, compare=False)


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic.

    So that a rerun (e.g. after an interruption) gives the same model. Op determinism is
    process-wide and makes some ops slower; it is what reproducible DVC stages need.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def resolve_params(name: str, params: dict) -> dict[str, Any]:
    """Flat training params of model `name`: the common keys plus the model's own.

    The one resolution of training parameters. Accepts params.yaml's `train` section (the
    model's keys under `params[name]` win over flat ones) or a flat dict; every key is
    required, so params.yaml is the only place a value comes from.
    """
    flat = {k: v for k, v in params.items() if not isinstance(v, dict)}
    nested = params.get(name)
    if isinstance(nested, dict):
        flat.update(nested)
    missing = [key for key in COMMON_KEYS if flat.get(key) is None]
    if missing:
        raise ValueError(f"train: missing {', '.join(missing)} (params.yaml's train states them)")
    resolved = {key: flat[key] for key in COMMON_KEYS}
    resolved.update(model_params(name, flat))
    for key in ("batch_size", "epochs"):
        if int(resolved[key]) < 1:
            raise ValueError(f"{key} must be >= 1, got {resolved[key]}")
    if int(resolved["patience"]) < 0:
        raise ValueError(f"patience must be >= 0, got {resolved['patience']}")
    return resolved


def train_model(
    name: str,
    features: np.ndarray,
    labels: np.ndarray,
    train_idx: np.ndarray,
    valid_idx: np.ndarray,
    params: dict,
    max_frames: int,
    model_path: Path,
    live_dir: Path | None = None,
) -> TrainResult:
    """Train model `name` on features[train_idx], early-stopping on features[valid_idx].

    `features` [N, F, D] (a float16 memmap is fine, it is read batch by batch) and `labels`
    [N, G] are aligned by row. Saves the best-epoch model to `model_path` (a `.keras` file);
    with `live_dir`, writes dvclive curves under `live_dir/plots/metrics` and
    `live_dir/history.json`.
    """
    if name not in VISUAL_MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(VISUAL_MODELS)}")
    model_path = Path(model_path)
    if model_path.suffix != ".keras":
        raise ValueError(f"model_path must end with .keras (Keras native format), got {model_path}")
    train_idx, valid_idx = _check_inputs(features, labels, train_idx, valid_idx)
    hp = resolve_params(name, params)
    seed = int(hp["seed"])

    keras.backend.clear_session()
    set_determinism(seed)
    model = build_model(name, int(max_frames), features.shape[2], labels.shape[1], hp)
    train = FrameBatches(
        features, train_idx, max_frames, int(hp["batch_size"]), labels, shuffle=True, seed=seed
    )
    valid = FrameBatches(features, valid_idx, max_frames, int(hp["batch_size"]), labels)

    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=int(hp["patience"]), restore_best_weights=True
    )
    callbacks: list[keras.callbacks.Callback] = [stopper, _EpochLog(name, int(hp["epochs"]))]
    if live_dir is not None:
        callbacks.append(_dvclive_callback(Path(live_dir)))

    _log(
        f"[{name}] training on {len(train_idx)} trailers, validating on {len(valid_idx)}; "
        f"input [{max_frames}, {features.shape[2]}], {labels.shape[1]} genres, "
        f"{model.count_params():,} parameters"
    )
    fit = model.fit(
        train, validation_data=valid, epochs=int(hp["epochs"]), callbacks=callbacks, verbose=0
    )
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    epochs_run = len(history.get("loss", []))
    best_epoch = _best_epoch(history.get("val_loss", []), stopper)
    _log(f"[{name}] {epochs_run} epochs run; kept epoch {best_epoch} (best val_loss)")

    _save_model_atomically(model, model_path)
    if live_dir is not None:
        record = {"loss": history.get("loss", []), "val_loss": history.get("val_loss", [])}
        record.update(best_epoch=best_epoch, epochs_run=epochs_run)
        write_json_atomic(Path(live_dir) / paths.TRAINING_HISTORY, record)
    return TrainResult(best_epoch, epochs_run, history, model)


def predict_probabilities(
    model: keras.Model,
    features: np.ndarray,
    indices: np.ndarray,
    max_frames: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Sigmoid outputs, float32 [len(indices), G], row i for trailer features[indices[i]]."""
    n_genres = int(model.outputs[0].shape[-1])
    indices = np.asarray(indices)
    if indices.size == 0:
        return np.zeros((0, n_genres), dtype=np.float32)
    batches = FrameBatches(features, indices, max_frames, batch_size)
    probs = model.predict(batches, verbose=0)
    return np.asarray(probs, dtype=np.float32).reshape(len(indices), n_genres)


def load_model(path: Path, compile: bool = False) -> keras.Model:
    """Load a model saved by train_model (safe mode: no custom objects, no Lambda code).

    Not compiled by default: predictions do not need the optimizer state.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    return keras.saving.load_model(path, compile=compile, safe_mode=True)


def _check_inputs(
    features: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, valid_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Clear errors for inputs that would otherwise fail deep inside Keras (or silently)."""
    if features.ndim != 3:
        raise ValueError(f"features must be [N, frames, dim], got shape {features.shape}")
    if labels.ndim != 2 or labels.shape[0] != features.shape[0]:
        raise ValueError(
            f"labels must be [N={features.shape[0]}, genres] aligned with features, "
            f"got {labels.shape}"
        )
    checked = []
    for split, idx in (("train", train_idx), ("valid", valid_idx)):
        idx = np.asarray(idx)
        if idx.size == 0:
            raise ValueError(f"the {split} split is empty")
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                f"{split}_idx must be a 1-D integer array, got {idx.dtype} {idx.shape}"
            )
        if idx.min() < 0 or idx.max() >= features.shape[0]:
            raise ValueError(f"{split}_idx out of range for {features.shape[0]} trailers")
        checked.append(idx.astype(np.int64))
    overlap = np.intersect1d(checked[0], checked[1])
    if overlap.size:
        warnings.warn(f"{overlap.size} trailers are in both train and valid splits", stacklevel=3)
    positives = np.asarray(labels)[checked[0]].sum(axis=0)
    missing = np.flatnonzero(positives == 0)
    if missing.size:
        warnings.warn(
            f"genre columns {missing.tolist()} have no positive trailer in the train split",
            stacklevel=3,
        )
    return checked[0], checked[1]


def _best_epoch(val_loss: list[float], stopper: keras.callbacks.EarlyStopping) -> int:
    """1-based epoch whose weights EarlyStopping restored (first minimum of val_loss)."""
    finite = [v if math.isfinite(v) else math.inf for v in val_loss]
    if not finite:
        return 0
    if stopper.best_weights is not None:
        return int(stopper.best_epoch) + 1
    return int(np.argmin(finite)) + 1


class _EpochLog(keras.callbacks.Callback):
    """One progress line per epoch on stderr (stdout may carry a CLI's machine output)."""

    def __init__(self, name: str, epochs: int) -> None:
        super().__init__()
        self.name = name
        self.epochs = epochs
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())
        took = time.monotonic() - self._start
        _log(f"[{self.name}] epoch {epoch + 1}/{self.epochs}  {values}  ({took:.1f} s)")


def _dvclive_callback(live_dir: Path) -> keras.callbacks.Callback:
    """dvclive logger that writes only under live_dir: no dvc.yaml, no exp refs, no report."""
    from dvclive import Live
    from dvclive.keras import DVCLiveCallback

    live = Live(
        dir=str(live_dir),
        resume=False,
        report=None,
        save_dvc_exp=False,
        dvcyaml=False,
        monitor_system=False,
    )
    return DVCLiveCallback(live=live)


def _save_model_atomically(model: keras.Model, model_path: Path) -> None:
    """Save to a temporary .keras file beside the target, then rename over it."""
    write_atomic(model_path, model.save, suffix=".keras")  # Keras wants the extension


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
