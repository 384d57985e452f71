"""Read LMTD-9's own SQLite label file (table ``lmtd9_0``); data/label_writer.py writes it.

The format: README.md, "Labels: LMTD-9's format".

Reading validates everything a training run would otherwise trip over later (duplicate
ids, trailers in no split, non-binary genre values) and names the offending row, so a
user with the real ``database.db`` learns what is wrong with it at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from moviegenre.config import RefusedInput
from moviegenre.genres import GENRES_9, SPLITS

LABEL_TABLE = "lmtd9_0"
GENRE_COLUMNS: tuple[str, ...] = tuple(f"is{g}" for g in GENRES_9)


class LabelError(RefusedInput):
    """An LMTD-9 label file that cannot be used; the message names the row, id or column."""


def trailer_key(trailer_id: int) -> str:
    """The zero-padded 6-digit key used for trailer files and features (``2`` -> ``000002``)."""
    return f"{int(trailer_id):06d}"


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Open an existing SQLite file read-only; a missing or foreign file is a LabelError."""
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"label database {path} does not exist")
    # as_uri() percent-encodes, so names with '?' or '#' still open the right file.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise LabelError(f"{path} is not an SQLite database ({exc})") from exc
    return conn


def _table_exists(conn: sqlite3.Connection, table: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (table,)
    ).fetchone()
    return row is not None


def _check_unique(keys: list[str], rowids: Sequence[int] | None = None) -> None:
    """Raise LabelError naming the duplicated ids (and their table rows, when known)."""
    problem = _duplicates(keys, rowids)
    if problem:
        raise LabelError(problem)


def _duplicates(keys: list[str], rowids: Sequence[int] | None = None) -> str | None:
    """The duplicated ids (and their table rows, when known) as one problem, or None."""
    dups = sorted(k for k, n in Counter(keys).items() if n > 1)
    if not dups:
        return None
    named = []
    for key in dups[:10]:
        if rowids is None:
            named.append(key)
        else:
            rows = [str(r) for k, r in zip(keys, rowids, strict=True) if k == key]
            named.append(f"{key} (rows {', '.join(rows)})")
    shown = ", ".join(named) + (f" and {len(dups) - 10} more" if len(dups) > 10 else "")
    return f"duplicate trailer ids in {LABEL_TABLE}: {shown}"


#: problems listed in one LabelError; the rest are counted
MAX_LISTED_PROBLEMS = 50


def _report(path: Path, problems: list[str]) -> LabelError:
    """One LabelError holding every problem found in the label file (one per line)."""
    if len(problems) == 1:
        return LabelError(f"{path}: {problems[0]}")
    listed = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(listed)
    lines = [f"{path}: {len(problems)} problems in the label file:", *(f"  - {p}" for p in listed)]
    if more:
        lines.append(f"  ... and {more} more")
    return LabelError("\n".join(lines))


def _as_int(value: object) -> int | None:
    """An integer-valued cell as int (SQLite may hand back 1.0 or '1'), else None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def read_labels(path: Path) -> pd.DataFrame:
    """Labels from an LMTD-9 ``database.db``: one row per trailer, sorted by ``trailer_id``.

    Columns: ``trailer_id`` ("000002"), ``split`` ("train"/"valid"/"test"), then one uint8
    column per genre in GENRES_9 order. Raises one LabelError listing every problem found
    (columns, ids, splits, genre values, duplicates), so a bad file is fixed in one pass.
    """
    path = Path(path)
    problems: list[str] = []
    rows = _label_rows(path, problems)
    keys: list[str] = []
    rowids: list[int] = []
    numeric_ids: list[int] = []
    split_names: list[str] = []
    labels = np.zeros((len(rows), len(GENRES_9)), dtype=np.uint8)
    for r, row in enumerate(rows):
        trailer_id, split = _check_row(row, labels[r], problems)
        valid_id = trailer_id is not None and trailer_id >= 0
        if valid_id:
            keys.append(trailer_key(trailer_id))
            rowids.append(int(row["rowid"]))
        numeric_ids.append(trailer_id if valid_id else -1)
        split_names.append(SPLITS[split] if split in (0, 1, 2) else "")
    duplicated = _duplicates(keys, rowids)
    if duplicated:
        problems.append(duplicated)
    if problems:
        raise _report(path, problems)

    order = np.argsort(np.asarray(numeric_ids, dtype=np.int64), kind="stable")
    frame = pd.DataFrame(
        {
            "trailer_id": [keys[i] for i in order],
            "split": [split_names[i] for i in order],
        }
    )
    for c, genre in enumerate(GENRES_9):
        frame[genre] = labels[order, c]
    return frame


def _label_rows(path: Path, problems: list[str]) -> list[dict]:
    """The label table's rows (rowid and the columns that exist); its column problems are
    added to ``problems`` (LabelError at once when there is no label table)."""
    with contextlib.closing(_connect_readonly(path)) as conn:
        if not _table_exists(conn, LABEL_TABLE):
            raise LabelError(f"{path} has no table {LABEL_TABLE!r}")
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{LABEL_TABLE}")')]
        for needed in ("id", "set"):
            if needed not in columns:
                problems.append(f"table {LABEL_TABLE} has no column {needed!r}")
        genre_like = [c for c in columns if len(c) > 2 and c.startswith("is") and c[2].isupper()]
        unknown = [c for c in genre_like if c not in GENRE_COLUMNS]
        if unknown:
            problems.append(
                f"table {LABEL_TABLE} has genre columns not in the vocabulary: "
                f"{', '.join(unknown)} (known: {', '.join(GENRE_COLUMNS)})"
            )
        missing = [c for c in GENRE_COLUMNS if c not in columns]
        if missing:
            problems.append(f"table {LABEL_TABLE} lacks genre columns: {', '.join(missing)}")
        # rows are checked on the columns that exist, so their problems are listed too
        present = [c for c in ("id", "set", *GENRE_COLUMNS) if c in columns]
        selected = ", ".join(["rowid", *(f'"{c}"' for c in present)])
        return [
            dict(zip(["rowid", *present], row, strict=True))
            for row in conn.execute(f"SELECT {selected} FROM {LABEL_TABLE}")
        ]


def _check_row(row: dict, labels: np.ndarray, problems: list[str]) -> tuple[int | None, int | None]:
    """(trailer id, split number) of one label row, as found; its genre values go to
    ``labels`` (the row's uint8 [9]) and what is wrong with it to ``problems``."""
    rowid, raw_id = row["rowid"], row.get("id")
    trailer_id = _as_int(raw_id) if "id" in row else None
    if "id" in row and (trailer_id is None or trailer_id < 0):
        shown = "NULL" if raw_id is None else repr(raw_id)
        problems.append(f"row {rowid} of {LABEL_TABLE} has id={shown}; expected an integer")
    valid_id = trailer_id is not None and trailer_id >= 0
    name = f"id {trailer_key(trailer_id)}" if valid_id else f"row {rowid}"
    split = None
    if "set" in row:
        raw_set = row["set"]
        split = _as_int(raw_set)
        if raw_set is None:
            problems.append(f"{name} is in no split (set=NULL)")
        elif split not in (0, 1, 2):
            problems.append(
                f"{name} has set={raw_set!r}; expected 0 (train), 1 (valid) or 2 (test)"
            )
    for c, column in enumerate(GENRE_COLUMNS):
        if column not in row:
            continue
        value = row[column]
        v = None if isinstance(value, str) else _as_int(value)
        if v not in (0, 1):
            shown = "NULL" if value is None else repr(value)
            problems.append(f"{name}: {column}={shown} is not 0/1")
        else:
            labels[c] = v
    return trailer_id, split
