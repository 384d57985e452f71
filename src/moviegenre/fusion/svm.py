"""Audio + visual late fusion: one RBF SVM per genre with probability outputs (docs/method.md).

The input row is the trailer's audio vector, min-max normalised per row as the seed does, followed
by a visual model's sigmoid outputs. Each genre gets its own SVM, grid-searched over C and gamma.

Two choices differ from a literal ``SVC(probability=True)`` grid search, for reasons:

* Probabilities come from ``CalibratedClassifierCV(SVC(), method="sigmoid", ensemble=False)``:
  Platt scaling fitted on cross-validated decision values, then one SVC on all rows. That is what
  libsvm's ``probability=True`` does internally, and it is what scikit-learn >= 1.9 asks for
  instead (``probability`` is deprecated there and goes in 1.11).
* The grid search scores the plain SVC's decision function with average precision. AP depends only
  on the ranking, and the sigmoid on top is monotonic, so the ranking is the one the calibrated
  model produces; searching without the inner calibration folds is about six times cheaper.

Models are stored with skops, never pickle, and loaded only when every type in the file is on an
explicit allow-list (:data:`ALLOWED_TYPES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from moviegenre.atomic import write_atomic

CALIBRATION_FOLDS = 5  # libsvm's own Platt scaling uses 5 internal folds


def log_grid(start: float, stop: float, num: int) -> np.ndarray:
    """``np.logspace(start, stop, num)``: the seed's grids are written this way."""
    return np.logspace(start, stop, num)


# Tuples, so that they are immutable defaults for a scikit-learn estimator.
DEFAULT_C_GRID: tuple[float, ...] = tuple(float(v) for v in log_grid(-2, 5, 14))
DEFAULT_GAMMA_GRID: tuple[float, ...] = tuple(float(v) for v in log_grid(-5, 0, 14))


def minmax_rows(x: np.ndarray) -> np.ndarray:
    """Scale each row to [0, 1] by its own min and max, as the seed does for the audio vector.

    A constant row (e.g. a silent trailer) becomes zeros instead of NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array [N, D], got shape {x.shape}")
    lo = x.min(axis=1, keepdims=True)
    span = x.max(axis=1, keepdims=True) - lo
    safe = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (x - lo) / safe, 0.0)


def fusion_features(audio: np.ndarray, visual_probs: np.ndarray | None) -> np.ndarray:
    """The SVM input: ``[minmax_rows(audio), visual_probs]``; ``None`` gives the audio-only SVM.

    The visual probabilities should come from trailers the visual model did not train on
    (validation or out-of-fold predictions); in-sample ones make the SVM over-trust them.
    """
    a = minmax_rows(audio)
    if visual_probs is None:
        return a
    v = np.asarray(visual_probs, dtype=np.float64)
    if v.ndim != 2 or len(v) != len(a):
        raise ValueError(
            f"visual_probs must be [N, G] with N = {len(a)} audio rows, got shape {v.shape}"
        )
    return np.hstack([a, v])


def _minority_count(y: np.ndarray) -> int:
    return int(min(y.sum(), len(y) - y.sum()))


def _probability_svc(C: float, gamma: float, n_calib: int, seed: int) -> CalibratedClassifierCV:
    """An RBF SVC with Platt-scaled probabilities (what ``SVC(probability=True)`` computes)."""
    return CalibratedClassifierCV(
        SVC(kernel="rbf", C=C, gamma=gamma),
        method="sigmoid",
        ensemble=False,
        cv=StratifiedKFold(n_calib, shuffle=True, random_state=seed),
    )


def _constant(y: np.ndarray) -> DummyClassifier:
    return DummyClassifier(strategy="prior").fit(np.zeros((len(y), 1)), y)


def _positive_proba(est: BaseEstimator, X: np.ndarray) -> np.ndarray:
    """Probability of class 1, also for a constant model that never saw class 1."""
    classes = list(est.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    return est.predict_proba(X)[:, classes.index(1)]


def _check_xy(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"expected X [N, D] and Y [N, G], got {X.shape} and {Y.shape}")
    if not np.isin(Y, (0, 1)).all():
        raise ValueError("Y must be a 0/1 multi-label indicator matrix")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    return X, Y.astype(np.int64)


class GenreSVMs(BaseEstimator):
    """One probability-calibrated RBF SVM per genre column, each with its own grid search.

    A genre whose training column has fewer than 2 positives or 2 negatives cannot be
    cross-validated; it gets a constant model predicting the positive rate and a line in
    ``notes_`` saying so, instead of an exception halfway through a long fit.

    Fitted attributes: ``estimators_`` (one per genre), ``best_params_`` (dict per genre, ``None``
    for a constant model), ``best_scores_`` (mean CV average precision, ``None`` likewise),
    ``notes_`` (list of str), ``n_features_in_``, ``n_genres_``, ``fitted_`` (True; False on
    SVMs the fuse stage left unfitted: moviegenre.fusion.policy.mark_unfitted).
    """

    def __init__(
        self,
        C_grid: Sequence[float] = DEFAULT_C_GRID,
        gamma_grid: Sequence[float] = DEFAULT_GAMMA_GRID,
        cv_folds: int = 3,
        seed: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.C_grid = C_grid
        self.gamma_grid = gamma_grid
        self.cv_folds = cv_folds
        self.seed = seed
        self.n_jobs = n_jobs

    def _search_folds(self, y: np.ndarray) -> StratifiedKFold:
        n = min(int(self.cv_folds), _minority_count(y))
        return StratifiedKFold(n, shuffle=True, random_state=self.seed)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> GenreSVMs:
        """Grid-search C and gamma per genre (scoring average precision), then refit on all rows."""
        X, Y = _check_xy(X, Y)
        if int(self.cv_folds) < 2:
            raise ValueError(f"cv_folds must be at least 2, got {self.cv_folds}")
        grid = {
            "C": [float(c) for c in self.C_grid],
            "gamma": [float(g) for g in self.gamma_grid],
        }
        self.estimators_: list[BaseEstimator] = []
        self.best_params_: list[dict[str, float] | None] = []
        self.best_scores_: list[float | None] = []
        self.notes_: list[str] = []
        for g in range(Y.shape[1]):
            y = Y[:, g]
            n_pos = int(y.sum())
            n_neg = len(y) - n_pos
            if min(n_pos, n_neg) < 2:
                self.estimators_.append(_constant(y))
                self.best_params_.append(None)
                self.best_scores_.append(None)
                self.notes_.append(
                    f"genre {g}: {n_pos} positives and {n_neg} negatives, too few for "
                    f"cross-validation; constant probability {n_pos / len(y):.4f}"
                )
                continue
            search = GridSearchCV(
                SVC(kernel="rbf"),
                grid,
                scoring="average_precision",
                cv=self._search_folds(y),
                n_jobs=self.n_jobs,
                refit=False,
            )
            search.fit(X, y)
            best = {k: float(v) for k, v in search.best_params_.items()}
            n_calib = min(CALIBRATION_FOLDS, _minority_count(y))
            model = _probability_svc(best["C"], best["gamma"], n_calib, self.seed).fit(X, y)
            self.estimators_.append(model)
            self.best_params_.append(best)
            self.best_scores_.append(float(search.best_score_))
        self.n_features_in_ = X.shape[1]
        self.n_genres_ = Y.shape[1]
        self.fitted_ = True
        return self

    def _check_X(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected X with {self.n_features_in_} features, got shape {X.shape}")
        return X

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """[N, G] probability of the positive class, one column per genre."""
        X = self._check_X(X)
        return np.column_stack([_positive_proba(est, X) for est in self.estimators_])

    def oof_predict_proba(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Out-of-fold [N, G] probabilities on the fitting rows, with each genre's best params.

        For thresholds (or any statistic) that should not be computed on in-sample predictions.
        The hyper-parameters were chosen on all rows, so this is honest about the fitted weights,
        not about the search. A training fold left with fewer than 2 of a class (only with tiny
        minorities) predicts its positive rate, like a constant genre.
        """
        X = self._check_X(X)
        X, Y = _check_xy(X, Y)
        if Y.shape[1] != self.n_genres_:
            raise ValueError(f"expected Y with {self.n_genres_} genres, got shape {Y.shape}")
        out = np.empty(Y.shape, dtype=np.float64)
        for g, params in enumerate(self.best_params_):
            y = Y[:, g]
            if params is None or _minority_count(y) < 2:
                out[:, g] = y.mean()  # no held-out structure to exploit: the rate is honest
                continue
            for train, test in self._search_folds(y).split(X, y):
                y_tr = y[train]
                minority = _minority_count(y_tr)
                if minority < 2:
                    out[test, g] = y_tr.mean()
                    continue
                n_calib = min(CALIBRATION_FOLDS, minority)
                model = _probability_svc(params["C"], params["gamma"], n_calib, self.seed)
                out[test, g] = _positive_proba(model.fit(X[train], y_tr), X[test])
        return out


# Every type a file written by save_svms may hold beyond what skops trusts by default.
ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        f"{GenreSVMs.__module__}.GenreSVMs",
        "sklearn.calibration.CalibratedClassifierCV",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.svm._classes.SVC",
        "sklearn.dummy.DummyClassifier",
    }
)


def save_svms(model: GenreSVMs, path: Path) -> None:
    """Write ``model`` with skops (never pickle), atomically: a crash leaves no half file."""
    write_atomic(path, lambda tmp: sio.dump(model, tmp))


def load_svms(path: Path) -> GenreSVMs:
    """Load a file written by :func:`save_svms`, refusing any type not in :data:`ALLOWED_TYPES`.

    skops only rebuilds the types it is told to trust; we trust exactly those the file names,
    after checking each against the allow-list, so a crafted file cannot run arbitrary code.
    """
    path = Path(path)
    untrusted = sio.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - ALLOWED_TYPES)
    if refused:
        raise ValueError(
            f"{path}: refusing to load types outside the allow-list: {', '.join(refused)}"
        )
    model = sio.load(path, trusted=list(untrusted))
    if not isinstance(model, GenreSVMs):
        raise ValueError(f"{path}: expected a GenreSVMs, got {type(model).__name__}")
    return model
