"""The 4-genre variant of docs/method.md: columns 0, 4, 5, 6; trailers with none of them dropped."""

from __future__ import annotations

import numpy as np
import pytest

from moviegenre.genres import FOUR_GENRE_COLUMNS, GENRES_4, GENRES_9, genres_for, select_genres


def test_vocabularies_follow_method_md() -> None:
    assert GENRES_9 == (
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
    assert GENRES_4 == ("Action", "Drama", "Horror", "Romance")
    assert FOUR_GENRE_COLUMNS == (0, 4, 5, 6)
    assert genres_for(9) == GENRES_9 and genres_for(4) == GENRES_4


def test_four_genre_selection_keeps_columns_and_drops_empty_rows() -> None:
    labels9 = np.array(
        [
            [1, 0, 0, 0, 0, 0, 0, 0, 0],  # Action -> kept
            [0, 1, 1, 0, 0, 0, 0, 0, 1],  # Adventure, Comedy, Thriller -> dropped
            [0, 0, 0, 0, 1, 1, 0, 0, 0],  # Drama, Horror -> kept
            [0, 0, 0, 1, 0, 0, 1, 1, 0],  # Crime, Romance, SciFi -> kept (Romance)
        ],
        dtype=np.uint8,
    )
    four, keep = select_genres(labels9, 4)
    assert keep.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(four, [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]])
    nine, keep9 = select_genres(labels9, 9)
    assert keep9.all() and nine.shape == (4, 9)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="9 or 4"):
        genres_for(5)
    with pytest.raises(ValueError, match=r"\[N, 9\]"):
        select_genres(np.zeros((3, 4)), 4)
