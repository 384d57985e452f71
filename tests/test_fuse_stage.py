"""The fusion stages on an assembled data set, including one without any audio.

The protocol guards: with `fusion.protocol: oof` every SVM learns from the train and valid
trailers' out-of-fold inputs and never from test; `seed` learns from the training split's
in-sample visual probabilities, as the original did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, write_dataset

from moviegenre.config import load_params
from moviegenre.dataset_files import load_dataset
from moviegenre.fusion.fit import make_svms
from moviegenre.fusion.svm import fusion_features, load_svms
from moviegenre.genres import GENRES_9
from moviegenre.paths import insample_path, predictions_path, svm_path
from moviegenre.pipeline.audio_svm import run as run_audio
from moviegenre.pipeline.fuse import run as run_fusion
from moviegenre.predictions import read_predictions, write_predictions


def _dataset(root: Path, with_audio: bool, n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = (rng.random((n, 9)) < 0.35).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, 9, n)] = 1
    splits = np.array(["train"] * 30 + ["valid"] * 18 + ["test"] * 12)
    audio = labels @ rng.normal(size=(9, 140)) + 0.3 * rng.normal(size=(n, 140))
    audio = (audio if with_audio else np.zeros_like(audio)).astype(np.float32)
    visual_features = np.zeros((n, 4, 3), dtype=np.float16)
    index = write_dataset(root, labels, splits, GENRES_9, audio, visual_features, with_audio)
    visual = np.clip(labels * 0.6 + 0.2 * rng.random((n, 9)), 0, 1).astype(np.float32)
    write_predictions(predictions_path("cnn1d"), index["trailer_id"], splits, visual, GENRES_9)
    insample = np.clip(labels * 0.9 + 0.05, 0, 1).astype(np.float32)  # over-confident
    write_predictions(insample_path("cnn1d"), index["trailer_id"], splits, insample, GENRES_9)
    return index, visual


def _flip_labels(root: Path, split: str) -> None:
    """Invert every label of one split in the assembled index."""
    path = root / "results/dataset/index.parquet"
    index = pd.read_parquet(path)
    rows = index["split"] == split
    index.loc[rows, list(GENRES_9)] = 1 - index.loc[rows, list(GENRES_9)]
    index.to_parquet(path, index=False)


def _fused(model: str = "fusion_cnn1d") -> np.ndarray:
    return read_predictions(predictions_path(model), GENRES_9)[1]


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


def _drop_audio(root: Path, rows: list[int]) -> None:
    """Mark some trailers as having no sound (zero audio rows, `has_audio` False)."""
    directory = root / "results/dataset"
    index = pd.read_parquet(directory / "index.parquet")
    index.loc[rows, "has_audio"] = False
    index.to_parquet(directory / "index.parquet", index=False)
    audio = np.load(directory / "audio.npy")
    audio[rows] = 0
    np.save(directory / "audio.npy", audio)


@pytest.mark.parametrize("stage", ["fusion", "audio"])
def test_svms_fit_the_protocol_rows_and_score_them_out_of_fold(
    tmp_path, monkeypatch, config, stage
) -> None:
    """Exactly train+valid trailers with audio are fitted; their scores are out-of-fold.

    The expected table is rebuilt from its definition: SVMs fitted on those rows, their
    out-of-fold probabilities on those rows, the fitted SVMs' probabilities on the others
    (test, and nothing for trailers without audio, which the no-audio policy fills). Fitting
    train only, adding test rows, or keeping in-sample scores all change the numbers.
    """
    monkeypatch.chdir(tmp_path)
    _, visual = _dataset(tmp_path, with_audio=True)
    _drop_audio(tmp_path, [3, 33, 50])  # one train, one valid, one test trailer
    if stage == "fusion":
        run_fusion(config, "cnn1d")
    else:
        run_audio(config)
    model = "fusion_cnn1d" if stage == "fusion" else "audio"
    rows, got = read_predictions(predictions_path(model), GENRES_9)

    data = load_dataset()
    has_audio = data.index["has_audio"].to_numpy()
    splits = data.index["split"].to_numpy()
    features = fusion_features(data.audio, visual if stage == "fusion" else None)
    fit = np.flatnonzero(np.isin(splits, ("train", "valid")) & has_audio)
    assert len(fit) == 46
    svms = make_svms(config).fit(features[fit], data.labels[fit])
    expected = svms.predict_proba(features)
    in_sample = expected[fit].copy()
    expected[fit] = svms.oof_predict_proba(features[fit], data.labels[fit])
    assert not np.allclose(expected[fit], in_sample, atol=1e-3)  # the check can tell them apart
    np.testing.assert_allclose(got[has_audio], expected[has_audio], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(rows["audio_missing"].to_numpy(), ~has_audio)


@pytest.mark.parametrize("stage", ["fusion", "audio"])
def test_oof_protocol_fits_train_and_valid_never_test(tmp_path, monkeypatch, config, stage) -> None:
    """Test labels change nothing; train or valid labels change the SVMs."""
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path, with_audio=True)
    fit = (
        (lambda: run_fusion(config, "cnn1d")) if stage == "fusion" else (lambda: run_audio(config))
    )
    model = "fusion_cnn1d" if stage == "fusion" else "audio"
    fit()
    before = _fused(model)
    _flip_labels(tmp_path, "test")
    fit()
    np.testing.assert_array_equal(_fused(model), before)
    for split in ("valid", "train"):
        _flip_labels(tmp_path, split)
        fit()
        test_rows = slice(48, 60)
        assert not np.allclose(_fused(model)[test_rows], before[test_rows]), split


def test_original_protocol_fits_train_in_sample(tmp_path, monkeypatch, config) -> None:
    """`original`: in-sample visual inputs, training split only (valid labels change nothing)."""
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path, with_audio=True)
    run_fusion(config, "cnn1d")
    oof_protocol = _fused()
    config["fusion"]["protocol"] = "original"
    run_fusion(config, "cnn1d")
    original_protocol = _fused()
    assert not np.allclose(original_protocol, oof_protocol)
    _flip_labels(tmp_path, "valid")
    run_fusion(config, "cnn1d")
    np.testing.assert_array_equal(_fused()[48:], original_protocol[48:])
    # it reads the in-sample table: changing it changes the fusion
    rows, insample = read_predictions(insample_path("cnn1d"), GENRES_9)
    write_predictions(
        insample_path("cnn1d"), rows["trailer_id"], rows["split"], insample[::-1], GENRES_9
    )
    run_fusion(config, "cnn1d")
    assert not np.allclose(_fused()[48:], original_protocol[48:])


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


@pytest.mark.parametrize("some_audio", [True, False])
def test_predict_scores_a_trailer_as_the_fusion_stages_do(
    tmp_path, monkeypatch, config, some_audio
) -> None:
    """`predict`'s SVM scoring and no-audio fallback, given what the bundle takes from the
    stages (their saved SVMs, trained_with_audio, the training prevalence), give each test
    trailer and each trailer without sound exactly the stage's row and flag.

    Test rows carry plain predictions (no SVM learnt from them); the other rows with audio
    carry out-of-fold scores, which no single model reproduces, so they are left out.
    """
    from moviegenre.bundle import _train_prevalence, _trained_with_audio
    from moviegenre.fusion.policy import FALLBACK
    from moviegenre.predict import svm_scores

    monkeypatch.chdir(tmp_path)
    _, visual = _dataset(tmp_path, with_audio=some_audio)
    if some_audio:
        _drop_audio(tmp_path, [3, 33, 50])  # one train, one valid, one test trailer
    run_fusion(config, "cnn1d")
    run_audio(config)
    data = load_dataset()
    has_audio = data.index["has_audio"].to_numpy()
    compared = np.flatnonzero((data.index["split"] == "test").to_numpy() | ~has_audio)
    assert has_audio[compared].any() == some_audio and not has_audio[compared].all()
    rates = _train_prevalence(list(GENRES_9))
    prevalence = np.array([rates[g] for g in GENRES_9], np.float32)
    for model, kind in (("fusion_cnn1d", "fusion"), ("audio", "audio")):
        rows, stage = read_predictions(predictions_path(model), GENRES_9)
        svms = load_svms(svm_path(model))
        assert _trained_with_audio(model) == some_audio
        for r in compared:
            got, fallback = svm_scores(
                kind,
                svms,
                data.audio[r] if has_audio[r] else None,
                visual[r] if kind == "fusion" else None,
                prevalence,
                trained_with_audio=_trained_with_audio(model),
            )
            np.testing.assert_allclose(got, stage[r], rtol=1e-6, atol=1e-7, err_msg=model)
            assert fallback == ("" if has_audio[r] else FALLBACK[kind])
            assert bool(rows["audio_missing"].iloc[r]) == (fallback != "")
