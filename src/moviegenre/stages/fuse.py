"""DVC stages audio_svm and fuse@<model>: per-genre RBF SVMs on audio, or audio + visual.

Honest inputs (METHOD.md): a fusion SVM learns from the validation split, whose visual
probabilities the visual model never trained on. The validation rows of its output are
out-of-fold probabilities, so thresholds picked on them are not in-sample either. The
audio-only SVM needs no such care (no model upstream) and learns from the training split.

Policy for trailers without sound: their fused scores are the visual model's own scores
(flagged `audio_missing`), and audio-only scores are the training prevalence (flagged);
zeros are never passed off as audio.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre import paths
from moviegenre.dataset import Dataset, load_dataset
from moviegenre.fusion.svm import GenreSVMs, fusion_features, log_grid, save_svms
from moviegenre.predictions import predictions_path, read_predictions, write_predictions

log = logging.getLogger("moviegenre.fuse")

AUDIO_MODEL = "audio"


def fused_name(visual_model: str) -> str:
    return f"fusion_{visual_model}"


def svm_path(name: str) -> Path:
    return paths.MODELS / "svm" / f"{name}.skops"


def make_svms(config: dict[str, Any]) -> GenreSVMs:
    fusion = config["fusion"]
    return GenreSVMs(
        C_grid=log_grid(fusion["C"]["start"], fusion["C"]["stop"], fusion["C"]["num"]),
        gamma_grid=log_grid(
            fusion["gamma"]["start"], fusion["gamma"]["stop"], fusion["gamma"]["num"]
        ),
        cv_folds=int(fusion["cv_folds"]),
        seed=int(fusion["seed"]),
    )


MIN_FIT_ROWS = 4
NO_AUDIO_NOTE = "not fitted: too few trailers with audio"


def _fit_and_predict(
    config: dict[str, Any], data: Dataset, visual: np.ndarray | None, fit_split: str
) -> tuple[GenreSVMs, np.ndarray | None, np.ndarray]:
    """Fit on `fit_split` rows with audio; probabilities for every row with audio.

    With too few trailers with audio (e.g. LMTD-9's feature pickle imported without the
    trailers), nothing is fitted: the returned SVMs are unfitted, marked in `notes_`, and
    the probabilities are None, so the caller applies the no-audio policy to every row.
    """
    has_audio = data.index["has_audio"].to_numpy()
    features = fusion_features(data.audio, visual)
    fit_rows = np.intersect1d(data.split_indices(fit_split), np.flatnonzero(has_audio))
    if len(fit_rows) < MIN_FIT_ROWS:
        log.warning(
            "only %d %s trailers with audio: no SVMs fitted; every trailer gets the "
            "no-audio fallback (visual scores for fusion, prevalence for audio alone)",
            len(fit_rows),
            fit_split,
        )
        svms = make_svms(config)
        svms.notes_ = [f"{NO_AUDIO_NOTE} ({len(fit_rows)} in the {fit_split} split)"]
        return svms, None, np.zeros_like(has_audio)
    labels = data.labels
    svms = make_svms(config).fit(features[fit_rows], labels[fit_rows])
    for note in svms.notes_:
        log.warning("%s", note)
    probabilities = np.full((len(data.index), len(data.genres)), np.nan, dtype=np.float32)
    with_audio = np.flatnonzero(has_audio)
    probabilities[with_audio] = svms.predict_proba(features[with_audio])
    # The rows the SVMs learnt from get out-of-fold probabilities instead of in-sample ones.
    probabilities[fit_rows] = svms.oof_predict_proba(features[fit_rows], labels[fit_rows])
    return svms, probabilities, has_audio


def run_audio(config: dict[str, Any]) -> None:
    data = load_dataset()
    svms, probabilities, has_audio = _fit_and_predict(config, data, None, "train")
    prevalence = data.labels[data.split_indices("train")].mean(axis=0)
    if probabilities is None:
        probabilities = np.empty((len(data.index), len(data.genres)), dtype=np.float32)
    probabilities[~has_audio] = prevalence
    save_svms(svms, svm_path(AUDIO_MODEL))
    write_predictions(
        predictions_path(AUDIO_MODEL),
        data.index["trailer_id"],
        data.index["split"],
        probabilities,
        data.genres,
        audio_missing=~has_audio,
    )
    log.info("audio SVMs: %s", getattr(svms, "best_params_", svms.notes_))


def run_fusion(config: dict[str, Any], visual_model: str) -> None:
    data = load_dataset()
    rows, visual = read_predictions(predictions_path(visual_model), data.genres)
    if rows["trailer_id"].tolist() != data.index["trailer_id"].tolist():
        raise RuntimeError(
            f"{predictions_path(visual_model)} is not aligned with the data set: "
            f"rerun `dvc repro train@{visual_model}`"
        )
    svms, probabilities, has_audio = _fit_and_predict(config, data, visual, "valid")
    if probabilities is None:
        probabilities = np.empty_like(visual)
    probabilities[~has_audio] = visual[~has_audio]
    name = fused_name(visual_model)
    save_svms(svms, svm_path(name))
    write_predictions(
        predictions_path(name),
        data.index["trailer_id"],
        data.index["split"],
        probabilities,
        data.genres,
        audio_missing=~has_audio,
    )
    log.info("%s SVMs: %s", name, getattr(svms, "best_params_", svms.notes_))
