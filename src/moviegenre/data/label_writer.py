"""Write labels as LMTD-9's own SQLite label file (table ``lmtd9_0``), as the demo does.

Apart from the reader (data/labels.py): the stages that read labels do not depend on how
the demo writes them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moviegenre.atomic import write_atomic
from moviegenre.data.labels import GENRE_COLUMNS, LABEL_TABLE, LabelError, trailer_key
from moviegenre.genres import GENRES_9


def write_lmtd_db(
    path: Path,
    trailer_ids: Sequence[int],
    splits: Sequence[int],
    labels9: np.ndarray,
    titles: Sequence[str] | None = None,
) -> None:
    """Write labels as LMTD-9's ``database.db`` so synthetic and real data share one reader.

    The file appears atomically (temporary file in the same folder, then ``os.replace``).
    """
    path = Path(path)
    ids = [int(i) for i in trailer_ids]
    sets = [int(s) for s in splits]
    labels = np.asarray(labels9)
    n = len(ids)
    if labels.ndim != 2 or labels.shape[1] != len(GENRES_9):
        raise LabelError(f"labels9 must have shape [N, 9], got {labels.shape}")
    if len(sets) != n or labels.shape[0] != n or (titles is not None and len(titles) != n):
        raise LabelError(
            f"lengths differ: {n} ids, {len(sets)} splits, {labels.shape[0]} label rows"
            + ("" if titles is None else f", {len(titles)} titles")
        )
    dups = sorted(k for k, count in Counter(trailer_key(i) for i in ids).items() if count > 1)
    if dups:
        raise LabelError(f"duplicate trailer ids in {LABEL_TABLE}: {', '.join(dups[:10])}")
    for i, s in zip(ids, sets, strict=True):
        if s not in (0, 1, 2):
            raise LabelError(f"id {trailer_key(i)} has set={s}; expected 0, 1 or 2")
    bad = np.argwhere((labels != 0) & (labels != 1))
    if len(bad):
        row, col = bad[0]
        value = labels[row, col].item()
        raise LabelError(f"id {trailer_key(ids[row])}: {GENRE_COLUMNS[col]}={value!r} is not 0/1")
    labels = labels.astype(np.int64)

    def write(tmp: Path) -> None:
        with contextlib.closing(sqlite3.connect(tmp)) as conn:
            genre_defs = ", ".join(f'"{c}" INTEGER NOT NULL' for c in GENRE_COLUMNS)
            conn.execute(f'CREATE TABLE {LABEL_TABLE} (id INTEGER, "set" INTEGER, {genre_defs})')
            conn.execute("CREATE TABLE trailers (id INTEGER, path TEXT)")
            conn.execute(
                "CREATE TABLE movies (imdbID INTEGER, Title TEXT, Plot TEXT, Genre TEXT, "
                "Year INTEGER, Director TEXT)"
            )
            marks = ", ".join("?" * (2 + len(GENRE_COLUMNS)))
            conn.executemany(
                f"INSERT INTO {LABEL_TABLE} VALUES ({marks})",
                [(i, s, *map(int, row)) for i, s, row in zip(ids, sets, labels, strict=True)],
            )
            conn.executemany(
                "INSERT INTO trailers VALUES (?, ?)", [(i, f"{trailer_key(i)}.mp4") for i in ids]
            )
            movies = []
            for k, (i, row) in enumerate(zip(ids, labels, strict=True)):
                genre_text = ", ".join(g for g, on in zip(GENRES_9, row, strict=True) if on)
                title = None if titles is None else str(titles[k])
                movies.append((i, title, None, genre_text, None, None))
            conn.executemany("INSERT INTO movies VALUES (?, ?, ?, ?, ?, ?)", movies)
            conn.commit()

    write_atomic(path, write)
