"""Batches from a memmap, and training: learning, early stopping, dvclive files, determinism."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO
from training_data import (
    TINY_CNN1D,
    TOY_FRAMES,
    TOY_GENRES,
    TOY_TRAIN,
    TOY_VALID,
    memmap,
    toy_data,
)

from moviegenre.config import load_params
from moviegenre.models.batches import FrameBatches
from moviegenre.models.train import (
    TrainResult,
    load_model,
    predict_probabilities,
    resolve_params,
    train_model,
)


def _bce(labels: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(np.mean(-(labels * np.log(p) + (1 - labels) * np.log(1 - p))))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- FrameBatches


def test_batches_pad_truncate_and_keep_index_order(tmp_path: Path) -> None:
    raw = np.random.default_rng(1).normal(size=(10, 5, 3)).astype(np.float16)
    features = memmap(tmp_path, raw)
    labels = np.eye(10, 4, dtype=np.int8)
    idx = np.array([7, 2, 5, 2, 9])
    padded = FrameBatches(features, idx, max_frames=8, batch_size=2, labels=labels)
    assert len(padded) == 3
    xs, ys = zip(*(padded[i] for i in range(len(padded))), strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x.shape == (5, 8, 3) and xs[-1].shape == (1, 8, 3)
    np.testing.assert_array_equal(x[:, :5], raw[idx].astype(np.float32))
    assert not x[:, 5:].any()
    np.testing.assert_array_equal(y, labels[idx])

    cut = FrameBatches(features, idx, max_frames=3, batch_size=4)
    x0 = cut[0]
    assert isinstance(x0, np.ndarray) and x0.shape == (4, 3, 3)
    np.testing.assert_array_equal(x0, raw[idx[:4], :3].astype(np.float32))
    with pytest.raises(IndexError):
        cut[2]


def test_batches_shuffle_deterministically_per_epoch(tmp_path: Path) -> None:
    features = memmap(tmp_path, np.arange(40 * 2 * 1, dtype=np.float16).reshape(40, 2, 1))
    idx = np.arange(3, 40)

    def epochs(seed: int, n: int = 3) -> list[np.ndarray]:
        batches = FrameBatches(features, idx, 2, 8, shuffle=True, seed=seed)
        seen = []
        for _ in range(n):
            rows = np.concatenate([batches[i][:, 0, 0] for i in range(len(batches))]) / 2
            seen.append(rows.astype(int))
            batches.on_epoch_end()
        return seen

    first, again, other = epochs(0), epochs(0), epochs(1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    for order in first:
        np.testing.assert_array_equal(np.sort(order), idx)  # each trailer once per epoch
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], other[0])
    plain = FrameBatches(features, idx, 2, 8)
    np.testing.assert_array_equal(plain[0][:, 0, 0] / 2, idx[:8])


def test_batches_never_modify_the_memmap(tmp_path: Path) -> None:
    raw = np.random.default_rng(2).normal(size=(12, 6, 4)).astype(np.float16)
    features = memmap(tmp_path, raw)
    before = _sha(tmp_path / "features.npy")
    batches = FrameBatches(features, np.arange(12), 9, 5, labels=np.zeros((12, 2)), shuffle=True)
    for _ in range(2):
        for i in range(len(batches)):
            x, _y = batches[i]
            x += 1.0  # batches are copies: writing to them cannot reach the file
        batches.on_epoch_end()
    assert not features.flags.writeable
    assert _sha(tmp_path / "features.npy") == before
    np.testing.assert_array_equal(np.asarray(features), raw)


def test_batches_reject_bad_inputs(tmp_path: Path) -> None:
    features = memmap(tmp_path, np.zeros((4, 3, 2), dtype=np.float16))
    with pytest.raises(ValueError, match="out of range"):
        FrameBatches(features, np.array([0, 4]), 3, 2)
    with pytest.raises(ValueError, match="labels"):
        FrameBatches(features, np.array([0]), 3, 2, labels=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="features"):
        FrameBatches(np.zeros((4, 3)), np.array([0]), 3, 2)


# ---------------------------------------------------------------- training


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One training run on the learnable toy problem, shared by the tests below."""
    root = tmp_path_factory.mktemp("learned")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # anything dvclive wrote relative to the cwd would land here
        raw, labels = toy_data()
        features = memmap(root, raw)
        model_path = root / "models" / "cnn1d.keras"
        result = train_model(
            "cnn1d",
            features,
            labels,
            TOY_TRAIN,
            TOY_VALID,
            TINY_CNN1D,
            TOY_FRAMES,
            model_path,
            root / "live",
        )
    return {
        "root": root,
        "features": features,
        "labels": labels,
        "model_path": model_path,
        "result": result,
    }


def test_training_learns_the_toy_problem(learned: dict) -> None:
    result: TrainResult = learned["result"]
    val_loss = result.history["val_loss"]
    assert 1 <= result.epochs_run <= TINY_CNN1D["epochs"]
    assert len(val_loss) == len(result.history["loss"]) == result.epochs_run
    assert min(val_loss) < 0.7 * val_loss[0]
    model = load_model(learned["model_path"])
    probs = predict_probabilities(model, learned["features"], TOY_VALID, TOY_FRAMES)
    assert probs.dtype == np.float32 and probs.shape == (len(TOY_VALID), TOY_GENRES)
    accuracy = np.mean((probs > 0.5) == learned["labels"][TOY_VALID])
    assert accuracy >= 0.8


def test_training_writes_model_dvclive_curves_and_history(learned: dict) -> None:
    root, result = learned["root"], learned["result"]
    assert learned["model_path"].is_file()
    assert [p.name for p in learned["model_path"].parent.iterdir()] == ["cnn1d.keras"]
    live = root / "live"
    for split in ("train", "eval"):
        tsv = live / "plots" / "metrics" / split / "loss.tsv"
        lines = tsv.read_text().splitlines()
        assert lines[0] == "step\tloss" and len(lines) == result.epochs_run + 1
    assert (live / "metrics.json").is_file()
    history = json.loads((live / "history.json").read_text())
    assert history["val_loss"] == result.history["val_loss"]
    assert history["loss"] == result.history["loss"]
    assert history["best_epoch"] == result.best_epoch
    assert not list(root.rglob("dvc.yaml")) and not (root / ".dvc").exists()
    assert not list(root.rglob("report.*"))


def test_predictions_follow_the_order_of_indices(learned: dict) -> None:
    model = load_model(learned["model_path"])
    order = TOY_VALID[::-1].copy()
    forward = predict_probabilities(model, learned["features"], TOY_VALID, TOY_FRAMES, batch_size=5)
    backward = predict_probabilities(model, learned["features"], order, TOY_FRAMES, batch_size=3)
    np.testing.assert_allclose(backward, forward[::-1], rtol=1e-5, atol=1e-6)
    none = predict_probabilities(model, learned["features"], TOY_VALID[:0], TOY_FRAMES)
    assert none.shape == (0, 2)


def _overfit(tmp_path: Path, tag: str) -> tuple[TrainResult, np.ndarray, np.ndarray]:
    """Train where validation labels are noise: val loss soon rises and training stops."""
    raw, labels = toy_data()
    labels = labels.copy()
    labels[TOY_VALID] = np.random.default_rng(5).integers(0, 2, size=(len(TOY_VALID), TOY_GENRES))
    params = dict(TINY_CNN1D, patience=1, learning_rate=0.03, seed=11)
    features = memmap(tmp_path, raw)
    path = tmp_path / tag / "model.keras"
    result = train_model("cnn1d", features, labels, TOY_TRAIN, TOY_VALID, params, TOY_FRAMES, path)
    probs = predict_probabilities(load_model(path), features, TOY_VALID, TOY_FRAMES)
    return result, probs, labels


def test_early_stopping_restores_the_best_epoch(tmp_path: Path) -> None:
    result, probs, labels = _overfit(tmp_path, "a")
    val_loss = result.history["val_loss"]
    assert result.epochs_run < TINY_CNN1D["epochs"]
    assert result.best_epoch == int(np.argmin(val_loss)) + 1
    assert result.best_epoch < result.epochs_run
    assert _bce(labels[TOY_VALID], probs) == pytest.approx(min(val_loss), rel=1e-3)
    assert _bce(labels[TOY_VALID], probs) != pytest.approx(val_loss[-1], rel=1e-3)

    # determinism: the same seed gives the same run, to the last bit
    again, probs_again, _ = _overfit(tmp_path, "b")
    assert again.history == result.history
    np.testing.assert_array_equal(probs_again, probs)


def test_bad_training_inputs_are_clear_errors(tmp_path: Path) -> None:
    raw, labels = toy_data()
    path = tmp_path / "m.keras"
    with pytest.raises(ValueError, match="train split is empty"):
        train_model("cnn1d", raw, labels, TOY_TRAIN[:0], TOY_VALID, TINY_CNN1D, TOY_FRAMES, path)
    with pytest.raises(ValueError, match="valid split is empty"):
        train_model("cnn1d", raw, labels, TOY_TRAIN, TOY_VALID[:0], TINY_CNN1D, TOY_FRAMES, path)
    with pytest.raises(ValueError, match="labels"):
        train_model("cnn1d", raw, labels[:-1], TOY_TRAIN, TOY_VALID, TINY_CNN1D, TOY_FRAMES, path)
    with pytest.raises(ValueError, match=".keras"):
        train_model(
            "cnn1d", raw, labels, TOY_TRAIN, TOY_VALID, TINY_CNN1D, TOY_FRAMES, tmp_path / "m.h5"
        )
    with pytest.raises(ValueError, match="unknown model"):
        train_model("svm", raw, labels, TOY_TRAIN, TOY_VALID, TINY_CNN1D, TOY_FRAMES, path)
    assert not os.listdir(tmp_path)


def test_a_genre_without_positives_warns_but_trains(tmp_path: Path) -> None:
    raw, labels = toy_data()
    labels = labels.copy()
    labels[TOY_TRAIN, 1] = 0
    params = dict(TINY_CNN1D, epochs=1)
    with pytest.warns(UserWarning, match=r"genre columns \[1\]"):
        result = train_model(
            "cnn1d", raw, labels, TOY_TRAIN, TOY_VALID, params, TOY_FRAMES, tmp_path / "m.keras"
        )
    assert result.epochs_run == 1 and (tmp_path / "m.keras").is_file()


def test_params_accept_flat_or_params_yaml_train_section() -> None:
    section = load_params(REPO / "params.yaml")["train"]
    resolved = resolve_params("lstm_merge", section)
    # params.yaml's value, with nothing in between (the demo raises docs/method.md's 1e-5)
    assert resolved["learning_rate"] == section["lstm_merge"]["learning_rate"]
    assert resolved["epochs"] == section["epochs"] and resolved["seed"] == section["seed"]
    flat = resolve_params("cnn1d", dict(TINY_CNN1D, dense_units=7))
    assert flat["dense_units"] == 7 and flat["batch_size"] == TINY_CNN1D["batch_size"]
    with pytest.raises(ValueError, match="batch_size"):
        resolve_params("cnn1d", dict(TINY_CNN1D, batch_size=0))
    with pytest.raises(ValueError, match="train: missing patience"):
        resolve_params("cnn1d", {k: v for k, v in TINY_CNN1D.items() if k != "patience"})
