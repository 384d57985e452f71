"""LMTD-9 label files: round trip, titles, and every validation error naming its culprit."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from lmtd_fixtures import read_titles

from moviegenre.data.label_writer import write_lmtd_db
from moviegenre.data.labels import (
    GENRE_COLUMNS,
    LABEL_TABLE,
    LabelError,
    read_labels,
)
from moviegenre.genres import GENRES_9

IDS = [5, 2, 10]
SPLITS = [0, 1, 2]
LABELS = np.array(
    [
        [1, 1, 0, 0, 0, 0, 0, 1, 0],  # 5: Action, Adventure, SciFi
        [0, 0, 1, 0, 0, 0, 1, 0, 0],  # 2: Comedy, Romance
        [0, 0, 0, 0, 1, 0, 0, 0, 0],  # 10: Drama
    ],
    dtype=np.uint8,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "nested" / "dir" / "database.db"
    write_lmtd_db(path, IDS, SPLITS, LABELS, titles=["Five", "Two", "Ten"])
    return path


def _raw_db(path: Path, columns: list[str], rows: list[tuple]) -> Path:
    """A hand-made lmtd9_0 table, for files write_lmtd_db would refuse to produce."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"CREATE TABLE {LABEL_TABLE} ({quoted})")
        conn.executemany(f"INSERT INTO {LABEL_TABLE} VALUES ({marks})", rows)
        conn.commit()
    return path


def _execute(path: Path, sql: str, params: tuple = ()) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(sql, params)
        conn.commit()


def test_round_trip_sorted_by_trailer_id(db: Path) -> None:
    frame = read_labels(db)
    assert list(frame.columns) == ["trailer_id", "split", *GENRES_9]
    assert list(frame["trailer_id"]) == ["000002", "000005", "000010"]
    assert list(frame["split"]) == ["valid", "train", "test"]
    assert all(frame[g].dtype == np.uint8 for g in GENRES_9)
    np.testing.assert_array_equal(frame[list(GENRES_9)].to_numpy(), LABELS[[1, 0, 2]])


def test_write_is_atomic_and_lmtd_shaped(db: Path) -> None:
    assert sorted(p.name for p in db.parent.iterdir()) == ["database.db"]  # no temp file left
    with closing(sqlite3.connect(db)) as conn:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({LABEL_TABLE})")]
        assert columns == ["id", "set", *GENRE_COLUMNS]
        paths = dict(conn.execute("SELECT id, path FROM trailers"))
        genres = dict(conn.execute("SELECT imdbID, Genre FROM movies"))
    assert paths[2] == "000002.mp4"
    assert genres[5] == "Action, Adventure, SciFi"


def test_rewrite_replaces_previous_file(db: Path) -> None:
    write_lmtd_db(db, [7], [2], LABELS[:1])
    frame = read_labels(db)
    assert list(frame["trailer_id"]) == ["000007"]
    assert read_titles(db) == {}  # no titles given: Title is NULL


def test_read_titles(db: Path, tmp_path: Path) -> None:
    assert read_titles(db) == {"000005": "Five", "000002": "Two", "000010": "Ten"}
    bare = _raw_db(tmp_path / "bare.db", ["id", "set", *GENRE_COLUMNS], [(1, 0, *[0] * 9)])
    assert read_titles(bare) == {}


def test_missing_genre_column_is_named(tmp_path: Path) -> None:
    columns = ["id", "set", *(c for c in GENRE_COLUMNS if c != "isHorror")]
    path = _raw_db(tmp_path / "db.db", columns, [(1, 0, *[0] * 8)])
    with pytest.raises(LabelError, match=r"lacks genre columns: isHorror$"):
        read_labels(path)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        pytest.param(
            f"INSERT INTO {LABEL_TABLE} VALUES (2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)",
            r"duplicate.*000002",
            id="duplicate_id",
        ),
        pytest.param(
            f"ALTER TABLE {LABEL_TABLE} ADD COLUMN isFoo INTEGER DEFAULT 0",
            r"not in the vocabulary: isFoo ",
            id="unknown_genre_column",
        ),
        pytest.param(
            f'UPDATE {LABEL_TABLE} SET "set" = NULL WHERE id = 5',
            r"database\.db: id 000005 is in no split \(set=NULL\)$",
            id="null_set",
        ),
        pytest.param(
            f'UPDATE {LABEL_TABLE} SET "set" = 5 WHERE id = 10',
            r"id 000010 has set=5",
            id="set_out_of_range",
        ),
        pytest.param(
            f"UPDATE {LABEL_TABLE} SET isDrama = 2 WHERE id = 2",
            r"id 000002: isDrama=2 is not 0/1",
            id="genre_value_not_binary",
        ),
        pytest.param(
            f"INSERT INTO {LABEL_TABLE} VALUES (NULL, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)",
            r"row 4 of lmtd9_0 has id=NULL",
            id="null_id",
        ),
    ],
)
def test_a_bad_row_or_column_is_named(db: Path, sql: str, message: str) -> None:
    """One edit to a valid file each: the error names the culprit (the column, the trailer
    id and its value, or the row number), so the user knows what to fix."""
    _execute(db, sql)
    with pytest.raises(LabelError, match=message):
        read_labels(db)


def test_missing_file_foreign_file_and_missing_table(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="does not exist"):
        read_labels(tmp_path / "absent.db")
    text = tmp_path / "notes.db"
    text.write_text("this is not a database, just some text long enough " * 4)
    with pytest.raises(LabelError, match="not an SQLite database"):
        read_labels(text)
    empty = tmp_path / "empty.db"
    _execute(empty, "CREATE TABLE other (x INTEGER)")
    with pytest.raises(LabelError, match="no table 'lmtd9_0'"):
        read_labels(empty)


def test_reader_opens_read_only(db: Path) -> None:
    before = db.stat().st_mtime_ns
    read_labels(db)
    read_titles(db)
    assert db.stat().st_mtime_ns == before
    assert not list(db.parent.glob("*-journal")) and not list(db.parent.glob("*-wal"))


def test_writer_rejects_inconsistent_input(tmp_path: Path) -> None:
    path = tmp_path / "db.db"
    with pytest.raises(LabelError, match="lengths differ"):
        write_lmtd_db(path, [1, 2], [0], LABELS[:2])
    with pytest.raises(LabelError, match="id 000002 has set=3"):
        write_lmtd_db(path, [1, 2], [0, 3], LABELS[:2])
    with pytest.raises(LabelError, match="duplicate.*000001"):
        write_lmtd_db(path, [1, 1], [0, 0], LABELS[:2])
    with pytest.raises(LabelError, match="id 000001: isAction=2"):
        write_lmtd_db(path, [1], [0], LABELS[:1] * 2)
    assert not path.exists()
