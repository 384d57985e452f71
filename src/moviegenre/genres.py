"""The LMTD-9 genre vocabulary and the 4-genre variant (docs/method.md)."""

from __future__ import annotations

import numpy as np

GENRES_9: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Comedy",
    "Crime",
    "Drama",
    "Horror",
    "Romance",
    "SciFi",
    "Thriller",
)
GENRES_4: tuple[str, ...] = ("Action", "Drama", "Horror", "Romance")
FOUR_GENRE_COLUMNS: tuple[int, ...] = tuple(GENRES_9.index(g) for g in GENRES_4)  # (0, 4, 5, 6)

SPLITS: tuple[str, ...] = ("train", "valid", "test")  # LMTD-9 "set" column: 0, 1, 2


def genres_for(n_genres: int) -> tuple[str, ...]:
    """The genre names, in column order, for the 9- or 4-genre setting."""
    if n_genres == 9:
        return GENRES_9
    if n_genres == 4:
        return GENRES_4
    raise ValueError(f"n_genres must be 9 or 4, got {n_genres}")


def select_genres(labels9: np.ndarray, n_genres: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels for the chosen setting and the mask of rows kept.

    For 4 genres, columns 0, 4, 5, 6 are kept and trailers with none of the four are
    dropped (docs/method.md); for 9, everything is kept.
    """
    labels9 = np.asarray(labels9)
    if labels9.ndim != 2 or labels9.shape[1] != 9:
        raise ValueError(f"expected labels of shape [N, 9], got {labels9.shape}")
    if n_genres == 9:
        return labels9, np.ones(len(labels9), dtype=bool)
    if n_genres != 4:
        raise ValueError(f"n_genres must be 9 or 4, got {n_genres}")
    four = labels9[:, FOUR_GENRE_COLUMNS]
    keep = four.any(axis=1)
    return four[keep], keep
