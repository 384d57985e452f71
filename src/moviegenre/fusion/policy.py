"""Scores of a trailer without usable sound: one rule for the fusion stages and `predict`.

A fusion model gives its visual model's own scores (``visual_scores``); the audio model
gives the positive rate of each genre on the training split (``train_prevalence``); the
trailer is flagged ``audio_missing`` and zeros are never passed off as audio. The same
happens to every trailer when too few had sound to fit the SVMs (:func:`mark_unfitted`).
The fallback names are what the bundle's manifest records and `predict` reports.

Imports numpy only, so `predict` and the bundle read it without scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

VISUAL_SCORES = "visual_scores"
TRAIN_PREVALENCE = "train_prevalence"
#: model kind -> what it gives a trailer without audio
FALLBACK = {"fusion": VISUAL_SCORES, "audio": TRAIN_PREVALENCE}
#: the split whose positive rate the audio model falls back to
PREVALENCE_SPLIT = "train"
#: first words of the note of SVMs the fuse stage did not fit (too few trailers with audio);
#: SVMs saved before the ``fitted_`` flag say they are unfitted only by this note
NO_AUDIO_NOTE = "not fitted: too few trailers with audio"


def train_prevalence(labels: np.ndarray, splits: Sequence[str] | np.ndarray) -> np.ndarray:
    """float32 [G]: each genre's positive rate on the training split (the audio fallback)."""
    labels = np.asarray(labels, dtype=np.float64)
    train = np.asarray(splits) == PREVALENCE_SPLIT
    if labels.ndim != 2 or len(labels) != len(train):
        raise ValueError(f"labels must be [N, G] with one split per row, got {labels.shape}")
    if not train.any():
        raise ValueError(f"no trailer in the {PREVALENCE_SPLIT} split: no prevalence")
    return labels[train].mean(axis=0).astype(np.float32)


def with_fallback(
    kind: str,
    scores: np.ndarray | None,
    has_audio: Sequence[bool] | np.ndarray,
    visual: np.ndarray | None = None,
    prevalence: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [N, G] scores, bool [N] audio_missing) of a ``kind`` ("fusion" or "audio")
    model: ``scores`` for the trailers with audio, the fallback for the others.

    ``visual`` ([N, G], the fused visual model's scores) is the fallback of a fusion model,
    ``prevalence`` ([G], :func:`train_prevalence`) that of the audio model. ``scores`` None
    (SVMs not fitted) sends every trailer to the fallback.
    """
    missing = ~np.asarray(has_audio, dtype=bool)
    if scores is None:
        missing = np.ones_like(missing)
    if kind not in FALLBACK:
        raise ValueError(f"no audio fallback for a {kind!r} model (expected {sorted(FALLBACK)})")
    if kind == "fusion":
        if visual is None:
            raise ValueError("a fusion model falls back to its visual scores: pass visual")
        out = np.array(visual, dtype=np.float32)
    else:
        if prevalence is None:
            raise ValueError("the audio model falls back to the prevalence: pass prevalence")
        prevalence = np.asarray(prevalence, dtype=np.float32)
        out = np.tile(prevalence, (len(missing), 1))
    if scores is not None:
        out[~missing] = np.asarray(scores, dtype=np.float32)[~missing]
    return out, missing


def unfitted_note(fit_rows: int, fit_split: str) -> str:
    """The note the fuse stage leaves on SVMs it could not fit."""
    return f"{NO_AUDIO_NOTE} ({fit_rows} in the {fit_split} split)"


def mark_unfitted(svms: Any, fit_rows: int, fit_split: str) -> Any:
    """SVMs the fuse stage could not fit, saved as such: ``fitted_`` False, and a note
    saying why for a reader of the file."""
    svms.fitted_ = False
    svms.notes_ = [unfitted_note(fit_rows, fit_split)]
    return svms


def trained_with_audio(svms: Any) -> bool:
    """Whether saved SVMs learnt from audio, read from the object itself: fitted
    (``estimators_``) and not marked unfitted (a loaded GenreSVMs; nothing else is inferred).

    The mark is the ``fitted_`` flag; files saved before it carry only the note of
    :func:`unfitted_note`, which is read instead.
    """
    flagged = getattr(svms, "fitted_", None)
    if flagged is None:
        notes = getattr(svms, "notes_", None) or []
        flagged = not any(str(note).startswith(NO_AUDIO_NOTE) for note in notes)
    return hasattr(svms, "estimators_") and bool(flagged)
