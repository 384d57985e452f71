"""Per-genre SVM fusion: features, fitting, fallbacks, out-of-fold predictions, skops storage."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import skops.io as sio
from sklearn.metrics import average_precision_score
from sklearn.preprocessing import FunctionTransformer

from moviegenre.fusion.svm import (
    DEFAULT_C_GRID,
    DEFAULT_GAMMA_GRID,
    GenreSVMs,
    fusion_features,
    load_svms,
    log_grid,
    minmax_rows,
    save_svms,
)

SMALL = {"C_grid": log_grid(-1, 2, 4), "gamma_grid": log_grid(-2, 0, 3)}


def _toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two separable genres, one constant genre and one with a single positive."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = np.zeros((n, 4), dtype=int)
    Y[:, 0] = X[:, 0] > 0.3
    Y[:, 1] = X[:, 1] + X[:, 2] > 0
    Y[0, 3] = 1
    return X, Y


@pytest.fixture(scope="module")
def fitted() -> tuple[GenreSVMs, np.ndarray, np.ndarray]:
    X, Y = _toy(150, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated sklearn API
        model = GenreSVMs(**SMALL, seed=0).fit(X, Y)
    return model, X, Y


def test_minmax_rows():
    x = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 5.0], [-2.0, 0.0, 2.0]])
    out = minmax_rows(x)
    assert out == pytest.approx(np.array([[0, 1, 0.5], [0, 0, 0], [0, 0.5, 1]]))
    assert np.isfinite(out).all()


def test_fusion_features_and_grids():
    audio = np.array([[0.0, 10.0], [4.0, 2.0]])
    visual = np.array([[0.2, 0.9, 0.1], [0.5, 0.5, 0.5]])
    f = fusion_features(audio, visual)
    assert f == pytest.approx(np.array([[0, 1, 0.2, 0.9, 0.1], [1, 0, 0.5, 0.5, 0.5]]))
    assert fusion_features(audio, None) == pytest.approx(minmax_rows(audio))
    with pytest.raises(ValueError, match=r"visual_probs must be \[N, G\] with N = 2 audio rows"):
        fusion_features(audio, visual[:1])
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        fusion_features(audio, visual[0])  # 1-D: numpy would broadcast it without the check
    assert len(DEFAULT_C_GRID) == len(DEFAULT_GAMMA_GRID) == 14
    assert DEFAULT_C_GRID[0] == pytest.approx(1e-2) and DEFAULT_C_GRID[-1] == pytest.approx(1e5)
    assert DEFAULT_GAMMA_GRID[0] == pytest.approx(1e-5) and DEFAULT_GAMMA_GRID[-1] == 1.0


def test_learns_separable_genres_on_held_out(fitted):
    model, _, _ = fitted
    X_test, Y_test = _toy(200, seed=1)
    proba = model.predict_proba(X_test)
    assert proba.shape == (200, 4)
    assert ((proba >= 0) & (proba <= 1)).all()
    for g in (0, 1):
        assert average_precision_score(Y_test[:, g], proba[:, g]) > 0.9
        assert set(model.best_params_[g]) == {"C", "gamma"}
        assert model.best_params_[g]["C"] in SMALL["C_grid"]


def test_constant_and_tiny_genres_fall_back_and_are_noted(fitted):
    model, X, _ = fitted
    proba = model.predict_proba(X[:5])
    assert (proba[:, 2] == 0.0).all()  # never positive
    assert proba[:, 3] == pytest.approx(1 / 150)  # one positive: its rate
    assert model.best_params_[2] is None and model.best_params_[3] is None
    assert len(model.notes_) == 2
    assert model.notes_[0].startswith("genre 2") and model.notes_[1].startswith("genre 3")


def test_oof_predictions(fitted):
    model, X, Y = fitted
    oof = model.oof_predict_proba(X, Y)
    in_sample = model.predict_proba(X)
    assert oof.shape == in_sample.shape == Y.shape
    assert not np.allclose(oof[:, :2], in_sample[:, :2])
    # honest but still informative
    for g in (0, 1):
        assert average_precision_score(Y[:, g], oof[:, g]) > 0.85
    assert oof[:, 3] == pytest.approx(1 / 150)


def test_save_load_round_trip(fitted, tmp_path):
    model, X, _ = fitted
    path = tmp_path / "models" / "svm.skops"
    save_svms(model, path)
    assert [p.name for p in path.parent.iterdir()] == ["svm.skops"]  # no temp file left
    loaded = load_svms(path)
    assert isinstance(loaded, GenreSVMs)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.best_params_ == model.best_params_ and loaded.notes_ == model.notes_


def test_load_refuses_types_outside_allow_list(fitted, tmp_path):
    # a function reference is how a crafted file would run code on load
    bad = tmp_path / "bad.skops"
    sio.dump(FunctionTransformer(os.system), bad)
    with pytest.raises(ValueError, match="allow-list"):
        load_svms(bad)
    # the same within an otherwise genuine model
    model, _, _ = fitted
    tampered = GenreSVMs(**SMALL)
    tampered.__dict__.update(model.__dict__)
    tampered.notes_ = FunctionTransformer(os.system)
    sio.dump(tampered, tmp_path / "tampered.skops")
    with pytest.raises(ValueError, match="system"):
        load_svms(tmp_path / "tampered.skops")


def test_load_refuses_other_allowed_objects(tmp_path):
    path = tmp_path / "dict.skops"
    sio.dump({"a": 1}, path)
    with pytest.raises(ValueError, match="expected a GenreSVMs"):
        load_svms(path)


def test_fit_validates_labels():
    X, Y = _toy(30, seed=2)
    with pytest.raises(ValueError, match="0/1"):
        GenreSVMs(**SMALL).fit(X, Y * 2)
