"""The fusion stages on an assembled data set, including one without any audio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviegenre.config import load_params
from moviegenre.fusion.svm import load_svms
from moviegenre.genres import GENRES_9
from moviegenre.predictions import predictions_path, read_predictions, write_predictions
from moviegenre.stages.fuse import run_audio, run_fusion, svm_path

REPO = Path(__file__).resolve().parents[1]


def _dataset(root: Path, with_audio: bool, n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = (rng.random((n, 9)) < 0.35).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, 9, n)] = 1
    splits = np.array(["train"] * 30 + ["valid"] * 18 + ["test"] * 12)
    index = pd.DataFrame({"trailer_id": [f"{i:06d}" for i in range(n)], "split": splits})
    index["n_frames"] = 4
    index["has_audio"] = with_audio
    index["silent"] = False
    for g, genre in enumerate(GENRES_9):
        index[genre] = labels[:, g]
    out = root / "results/dataset"
    out.mkdir(parents=True)
    index.to_parquet(out / "index.parquet", index=False)
    audio = labels @ rng.normal(size=(9, 140)) + 0.3 * rng.normal(size=(n, 140))
    np.save(out / "audio.npy", (audio if with_audio else np.zeros_like(audio)).astype(np.float32))
    np.save(out / "visual.npy", np.zeros((n, 4, 3), dtype=np.float16))
    (out / "report.json").write_text(json.dumps({"genres": list(GENRES_9)}))
    visual = np.clip(labels * 0.6 + 0.2 * rng.random((n, 9)), 0, 1).astype(np.float32)
    write_predictions(predictions_path("cnn1d"), index["trailer_id"], splits, visual, GENRES_9)
    return index, visual


@pytest.fixture
def config() -> dict:
    params = load_params(REPO / "params.yaml")
    params["fusion"].update(
        C={"start": 0, "stop": 1, "num": 2}, gamma={"start": -2, "stop": -1, "num": 2}, cv_folds=2
    )
    return params


def test_fusion_learns_from_validation_rows(tmp_path, monkeypatch, config) -> None:
    monkeypatch.chdir(tmp_path)
    index, visual = _dataset(tmp_path, with_audio=True)
    run_fusion(config, "cnn1d")
    rows, fused = read_predictions(predictions_path("fusion_cnn1d"), GENRES_9)
    assert not rows["audio_missing"].any() and np.isfinite(fused).all()
    assert not np.allclose(fused, visual)  # the SVMs, not a pass-through
    assert load_svms(svm_path("fusion_cnn1d")).best_params_


def test_without_any_audio_the_policy_applies_to_every_trailer(
    tmp_path, monkeypatch, config
) -> None:
    monkeypatch.chdir(tmp_path)
    index, visual = _dataset(tmp_path, with_audio=False)
    run_fusion(config, "cnn1d")
    rows, fused = read_predictions(predictions_path("fusion_cnn1d"), GENRES_9)
    assert rows["audio_missing"].all()
    np.testing.assert_array_equal(fused, visual)  # the visual model's own scores, flagged
    svms = load_svms(svm_path("fusion_cnn1d"))
    assert "not fitted" in svms.notes_[0]

    run_audio(config)
    rows, audio_only = read_predictions(predictions_path("audio"), GENRES_9)
    train = index["split"] == "train"
    prevalence = index.loc[train, list(GENRES_9)].to_numpy().mean(axis=0)
    assert rows["audio_missing"].all()
    np.testing.assert_allclose(audio_only, np.tile(prevalence, (len(index), 1)), rtol=1e-6)
