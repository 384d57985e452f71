"""Cross-fitting: stratified deterministic folds, fold rows that never touch the held-out
fold or test, and the out-of-fold / in-sample tables assembled from the fold models."""

from __future__ import annotations

import numpy as np
import pytest

from moviegenre.stacking import TEST_FOLD, assign_folds, combine, fold_rows


def _labels(n: int = 90, genres: int = 9, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, genres)) < 0.2).astype(np.uint8)
    labels[:, -1] = 0
    labels[rng.choice(72, 6, replace=False), -1] = 1  # a rare genre: 6 train+valid positives
    return labels


SPLITS = np.array(["train"] * 60 + ["valid"] * 12 + ["test"] * 18)


def test_folds_cover_non_test_rows_only_and_are_deterministic() -> None:
    labels = _labels()
    folds = assign_folds(SPLITS, labels, 3, seed=5)
    assert (folds[SPLITS == "test"] == TEST_FOLD).all()
    assert set(folds[SPLITS != "test"].tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(folds, assign_folds(SPLITS, labels, 3, seed=5))
    assert not np.array_equal(folds, assign_folds(SPLITS, labels, 3, seed=6))


def test_folds_are_stratified_for_every_genre() -> None:
    """Each fold holds its share of each genre's positives (the rare one: 2 of 6 each)."""
    labels = _labels()
    folds = assign_folds(SPLITS, labels, 3, seed=0)
    non_test = SPLITS != "test"
    for g in range(labels.shape[1]):
        total = labels[non_test, g].sum()
        per_fold = [labels[folds == f, g].sum() for f in range(3)]
        assert max(per_fold) - min(per_fold) <= 1 + total // 10, (g, per_fold)
    rare = [labels[folds == f, -1].sum() for f in range(3)]
    assert sorted(rare) == [2, 2, 2]


def test_fold_rows_never_see_the_held_out_fold_or_test() -> None:
    labels = _labels()
    folds = assign_folds(SPLITS, labels, 3, seed=0)
    for fold in range(3):
        fit, stop, held_out = fold_rows(folds, fold, labels, 0.2, seed=1)
        assert set(held_out) == set(np.flatnonzero(folds == fold))
        seen = np.concatenate([fit, stop])
        assert not set(seen) & set(held_out)  # early stopping included
        assert not set(seen) & set(np.flatnonzero(SPLITS == "test"))
        assert set(seen) == set(np.flatnonzero((folds != fold) & (folds != TEST_FOLD)))
        assert 0.1 < len(stop) / len(seen) < 0.3
    with pytest.raises(ValueError, match="fold 3"):
        fold_rows(folds, 3, labels, 0.2, seed=1)


def test_combine_takes_each_rows_own_fold_and_averages_for_test() -> None:
    folds = np.array([0, 1, 2, 0, 1, 2, TEST_FOLD, TEST_FOLD])
    # fold model f predicts f + row / 100 for every row and genre
    per_fold = [np.tile((f + np.arange(8) / 100)[:, None], (1, 2)) for f in range(3)]
    oof, insample = combine(per_fold, folds)
    np.testing.assert_allclose(oof[:6, 0], folds[:6] + np.arange(6) / 100, atol=1e-6)
    np.testing.assert_allclose(oof[6:, 0], 1 + np.arange(6, 8) / 100, atol=1e-6)  # mean of 0,1,2
    # in-sample: the mean of the two models that trained on the row
    expected = [(3 - f) / 2 + r / 100 for r, f in enumerate(folds[:6])]
    np.testing.assert_allclose(insample[:6, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(insample[6:], oof[6:])
    with pytest.raises(ValueError, match="folds 0..1"):
        combine(per_fold[:2], folds)
