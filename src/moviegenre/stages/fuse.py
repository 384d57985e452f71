"""DVC stages audio_svm and fuse@<model>: per-genre RBF SVMs on audio, or audio + visual.

Stacking (`fusion.protocol: oof`, the default): every SVM learns from all non-test
trailers (train + valid). A fusion SVM's visual inputs are out-of-fold probabilities
(moviegenre.stacking), which no visual model computed for a trailer it trained on. The
non-test rows of each SVM's output are its own out-of-fold scores (inner cross-validation),
so thresholds and model choice picked on them are not in-sample either.

`fusion.protocol: seed` reproduces the original for comparison: the SVMs learn from the
training split with in-sample visual probabilities (optimistic inputs: docs/method.md,
"Original / ours / why").

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
from moviegenre.stacking import insample_path

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


PROTOCOL_FIT_SPLITS = {"oof": ("train", "valid"), "seed": ("train",)}


def fit_splits(config: dict[str, Any]) -> tuple[str, ...]:
    """The splits the SVMs learn from under `fusion.protocol` (never test)."""
    return PROTOCOL_FIT_SPLITS[config["fusion"]["protocol"]]


def visual_table(config: dict[str, Any], visual_model: str) -> Path:
    """The visual probabilities the fusion reads: out-of-fold, or in-sample (seed)."""
    if config["fusion"]["protocol"] == "seed":
        return insample_path(visual_model)
    return predictions_path(visual_model)


def _fit_and_predict(
    config: dict[str, Any], data: Dataset, visual: np.ndarray | None
) -> tuple[GenreSVMs, np.ndarray | None, np.ndarray]:
    """Fit on the protocol's rows with audio; probabilities for every row with audio.

    With too few trailers with audio (e.g. LMTD-9's feature pickle imported without the
    trailers), nothing is fitted: the returned SVMs are unfitted, marked in `notes_`, and
    the probabilities are None, so the caller applies the no-audio policy to every row.
    """
    has_audio = data.index["has_audio"].to_numpy()
    features = fusion_features(data.audio, visual)
    fit_split = "+".join(fit_splits(config))
    in_fit = np.isin(data.index["split"].to_numpy(), fit_splits(config))
    fit_rows = np.flatnonzero(in_fit & has_audio)
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
    svms, probabilities, has_audio = _fit_and_predict(config, data, None)
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
    table = visual_table(config, visual_model)
    rows, visual = read_predictions(table, data.genres)
    if rows["trailer_id"].tolist() != data.index["trailer_id"].tolist():
        raise RuntimeError(
            f"{table} is not aligned with the data set: rerun `dvc repro oof@{visual_model}`"
        )
    svms, probabilities, has_audio = _fit_and_predict(config, data, visual)
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
