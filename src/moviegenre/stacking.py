"""Cross-fitting for the stacked fusion: folds, out-of-fold tables, test-time averaging.

Every non-test trailer (train + valid) gets a fold. A visual model trained on the other
k-1 folds predicts the held-out fold, so each labelled trailer gets a probability from a
model that never saw it: the rows the fusion SVMs learn from (docs/method.md: optimistic
inputs are the seed's flaw). Test trailers get the mean of the k fold models, the same
kind of model as the SVMs' training rows, which is also what `moviegenre predict` uses.

Folds are multi-label stratified (Sechidis et al.'s iterative stratification, from the
`iterative-stratification` package) so that every fold holds its share of each genre's
few positives, and deterministic for a seed. Early stopping looks at a slice of the
training folds, never at the fold being predicted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from moviegenre.atomic import write_atomic
from moviegenre.dataset_files import check_aligned

TEST_FOLD = -1  # the fold column of test trailers: never held out, never trained on
NON_TEST = ("train", "valid")


def assign_folds(splits: np.ndarray, labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """int [N]: the fold (0..k-1) of each non-test trailer, TEST_FOLD for test ones."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    splits = np.asarray(splits)
    rows = np.flatnonzero(np.isin(splits, NON_TEST))
    if k < 2:
        raise ValueError(f"stacking.folds must be at least 2, got {k}")
    if len(rows) < k:
        raise ValueError(f"{len(rows)} train+valid trailers cannot fill {k} folds")
    folds = np.full(len(splits), TEST_FOLD, dtype=np.int64)
    y = np.asarray(labels)[rows].astype(int)
    splitter = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=int(seed))
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros((len(rows), 1)), y)):
        folds[rows[held_out]] = fold
    return folds


def fold_rows(
    folds: np.ndarray, fold: int, labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fit rows, early-stopping rows, held-out rows) of fold model `fold`.

    Fit and early-stopping rows both come from the other folds (a stratified `fraction` of
    them stops training), so the epoch count a fold model keeps is chosen without looking
    at the trailers it will predict; test trailers are in none of the three.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    folds = np.asarray(folds)
    held_out = np.flatnonzero(folds == fold)
    if held_out.size == 0:
        raise ValueError(f"fold {fold} is empty or not in the fold table")
    train_rows = np.flatnonzero((folds != TEST_FOLD) & (folds != fold))

    splitter = MultilabelStratifiedShuffleSplit(
        n_splits=1, test_size=float(fraction), random_state=int(seed)
    )
    y = np.asarray(labels)[train_rows].astype(int)
    fit, stop = next(splitter.split(np.zeros((len(train_rows), 1)), y))
    return np.sort(train_rows[fit]), np.sort(train_rows[stop]), held_out


def write_folds(path: Path, trailer_ids: pd.Series, splits: pd.Series, folds: np.ndarray) -> None:
    frame = pd.DataFrame({"trailer_id": list(trailer_ids), "split": list(splits), "fold": folds})
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def read_folds(path: Path, trailer_ids: pd.Series) -> np.ndarray:
    """The fold column, checked to be aligned with the data set's rows."""
    frame = pd.read_parquet(path)
    check_aligned(path, frame["trailer_id"], trailer_ids, rerun="dvc repro folds")
    return frame["fold"].to_numpy(dtype=np.int64)


def combine(per_fold: list[np.ndarray], folds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold, in-sample) [N, G] from each fold model's probabilities for every row.

    Out-of-fold: a non-test row takes its own fold's model (which never saw it); a test
    row takes the mean over all fold models. In-sample: a non-test row takes the mean of
    the k-1 models that trained on it (the seed's optimistic input); test rows as above.
    """
    stacked = np.stack(per_fold)  # [k, N, G]
    k = len(per_fold)
    if set(np.unique(folds[folds != TEST_FOLD]).tolist()) != set(range(k)):
        raise ValueError(f"expected folds 0..{k - 1} in the fold table")
    test_mean = stacked.mean(axis=0)
    oof = test_mean.copy()
    insample = test_mean.copy()
    for fold in range(k):
        rows = folds == fold
        oof[rows] = stacked[fold, rows]
        others = [f for f in range(k) if f != fold]
        insample[rows] = stacked[others][:, rows].mean(axis=0)
    return oof.astype(np.float32), insample.astype(np.float32)
