"""Fitting the per-genre SVMs under a protocol: which rows they learn from, and which rows'
scores are out-of-fold, and (fit_and_write) the whole of the audio_svm and fuse@<model>
stages once their inputs are read.

Stacking (`fusion.protocol: oof`, the default): every SVM learns from all non-test
trailers (train + valid). A fusion SVM's visual inputs are out-of-fold probabilities
(moviegenre.stacking), which no visual model computed for a trailer it trained on. The
non-test rows of each SVM's output are its own out-of-fold scores (inner cross-validation),
so thresholds and model choice picked on them are not in-sample either.

`fusion.protocol: original` reproduces the original code for comparison: the SVMs learn from the
training split with in-sample visual probabilities (optimistic inputs: docs/method.md,
"Original / ours / why").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from moviegenre import paths
from moviegenre.dataset_files import Dataset
from moviegenre.fusion.policy import mark_unfitted, train_prevalence, with_fallback
from moviegenre.fusion.svm import GenreSVMs, fusion_features, log_grid, save_svms
from moviegenre.predictions import write_predictions

log = logging.getLogger("moviegenre.fuse")

MIN_FIT_ROWS = 4


PROTOCOL_FIT_SPLITS = {"oof": ("train", "valid"), "original": ("train",)}


def make_svms(config: Mapping[str, Any]) -> GenreSVMs:
    """Unfitted SVMs with params.yaml's `fusion` grid, folds and seed."""
    fusion = config["fusion"]
    return GenreSVMs(
        C_grid=log_grid(fusion["C"]["start"], fusion["C"]["stop"], fusion["C"]["num"]),
        gamma_grid=log_grid(
            fusion["gamma"]["start"], fusion["gamma"]["stop"], fusion["gamma"]["num"]
        ),
        cv_folds=int(fusion["cv_folds"]),
        seed=int(fusion["seed"]),
    )


def fit_splits(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The splits the SVMs learn from under `fusion.protocol` (never test)."""
    return PROTOCOL_FIT_SPLITS[config["fusion"]["protocol"]]


def fit_and_predict(
    config: Mapping[str, Any],
    audio: np.ndarray,
    visual: np.ndarray | None,
    labels: np.ndarray,
    splits: np.ndarray,
    has_audio: np.ndarray,
) -> tuple[GenreSVMs, np.ndarray | None]:
    """Fit on the protocol's rows with audio; probabilities [N, G] for every row with audio
    (NaN elsewhere), out-of-fold for the rows the SVMs learnt from.

    With too few trailers with audio (e.g. LMTD-9's feature pickle imported without the
    trailers), nothing is fitted: the returned SVMs are unfitted (mark_unfitted), and
    the probabilities are None, so the caller applies the no-audio policy
    (moviegenre.fusion.policy) to every row.
    """
    has_audio = np.asarray(has_audio, dtype=bool)
    features = fusion_features(audio, visual)
    fit_split = "+".join(fit_splits(config))
    in_fit = np.isin(np.asarray(splits), fit_splits(config))
    fit_rows = np.flatnonzero(in_fit & has_audio)
    if len(fit_rows) < MIN_FIT_ROWS:
        log.warning(
            "only %d %s trailers with audio: no SVMs fitted; every trailer gets the "
            "no-audio fallback (visual scores for fusion, prevalence for audio alone)",
            len(fit_rows),
            fit_split,
        )
        return mark_unfitted(make_svms(config), len(fit_rows), fit_split), None
    svms = make_svms(config).fit(features[fit_rows], labels[fit_rows])
    for note in svms.notes_:
        log.warning("%s", note)
    probabilities = np.full(labels.shape, np.nan, dtype=np.float32)
    with_audio = np.flatnonzero(has_audio)
    probabilities[with_audio] = svms.predict_proba(features[with_audio])
    # The rows the SVMs learnt from get out-of-fold probabilities instead of in-sample ones.
    probabilities[fit_rows] = svms.oof_predict_proba(features[fit_rows], labels[fit_rows])
    return svms, probabilities


def fit_and_write(
    config: dict[str, Any], data: Dataset, name: str, visual: np.ndarray | None = None
) -> None:
    """Fit model `name`'s SVMs on audio (and `visual`, for a fusion), give trailers without
    sound the no-audio policy, save the SVMs and the per-trailer probabilities.

    The body of both SVM stages: audio_svm (`visual` None) and fuse@<model>.
    """
    splits = data.index["split"].to_numpy()
    has_audio = data.index["has_audio"].to_numpy(dtype=bool)
    svms, probabilities = fit_and_predict(
        config, data.audio, visual, data.labels, splits, has_audio
    )
    if visual is None:
        prevalence = train_prevalence(data.labels, splits)
        probabilities, missing = with_fallback(
            "audio", probabilities, has_audio, prevalence=prevalence
        )
    else:
        probabilities, missing = with_fallback("fusion", probabilities, has_audio, visual=visual)
    save_svms(svms, paths.svm_path(name))
    write_predictions(
        paths.predictions_path(name),
        data.index["trailer_id"],
        data.index["split"],
        probabilities,
        data.genres,
        audio_missing=missing,
    )
    log.info("%s SVMs: %s", name, getattr(svms, "best_params_", svms.notes_))
