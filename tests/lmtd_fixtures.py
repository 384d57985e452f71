"""LMTD-9's file formats, written and read the way only tests and benchmarks need: the
feature pickle as Python 2 wrote it (the importer's input) and the movie titles of
``database.db`` (which the pipeline never reads); and a small LMTD-shaped data set for the
import tests (LMTD_LABELS for database.db, lmtd_features for the pickle)."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from moviegenre.data import labels


def write_lmtd_style_pickle(path: Path, features: Mapping[str, np.ndarray]) -> None:
    """Write arrays as Python 2's cPickle (protocol 2) wrote LMTD-9's pickle with numpy 1.x.

    Byte-string keys and payloads (SHORT_BINSTRING / BINSTRING), ``numpy.core.multiarray
    ._reconstruct`` globals and memo references, as in the published file: fabricated
    data for tests and benchmarks takes the same path as the real thing.
    """
    path = Path(path)
    memo = {"n": 0}

    def put() -> bytes:
        memo["n"] += 1
        n = memo["n"]
        return b"q" + bytes([n]) if n < 256 else b"r" + struct.pack("<I", n)

    def get(n: int) -> bytes:
        return b"h" + bytes([n]) if n < 256 else b"j" + struct.pack("<I", n)

    def py2_str(data: bytes) -> bytes:
        if len(data) < 256:
            return b"U" + bytes([len(data)]) + data
        return b"T" + struct.pack("<i", len(data)) + data

    def py2_int(value: int) -> bytes:
        if value < 256:
            return b"K" + bytes([value])
        return b"M" + struct.pack("<H", value) if value < 65536 else b"J" + struct.pack("<i", value)

    def py2_tuple(parts: list[bytes]) -> bytes:
        if 1 <= len(parts) <= 3:
            return b"".join(parts) + b"\x85\x86\x87"[len(parts) - 1 : len(parts)]
        return b"(" + b"".join(parts) + b"t"

    items = list(features.items())
    globals_at: dict[bytes, int] = {}
    dtypes_at: dict[str, int] = {}

    def glob(text: bytes) -> bytes:
        if text in globals_at:
            return get(globals_at[text])
        out = b"c" + text + put()
        globals_at[text] = memo["n"]
        return out

    with open(path, "wb") as out:
        out.write(b"\x80\x02}" + put())
        for start in range(0, max(len(items), 1), 1000):  # cPickle's SETITEMS batches
            batch = items[start : start + 1000]
            if not batch:
                break
            out.write(b"(")
            for key, value in batch:
                arr = np.ascontiguousarray(value)
                if arr.dtype.kind not in "biuf":
                    raise TypeError(f"{key}: only numeric arrays can be written, not {arr.dtype}")
                if arr.dtype.byteorder == ">":
                    arr = arr.astype(arr.dtype.newbyteorder("<"))
                code, order = arr.dtype.str[1:], "|" if arr.dtype.str[0] == "|" else "<"
                key_bytes = key.encode("latin1") if isinstance(key, str) else bytes(key)
                out.write(py2_str(key_bytes) + (put() if len(key_bytes) > 1 else b""))
                out.write(glob(b"numpy.core.multiarray\n_reconstruct\n"))
                out.write(glob(b"numpy\nndarray\n") + b"K\x00\x85U\x01b\x87R" + put())
                out.write(b"(K\x01" + py2_tuple([py2_int(d) for d in arr.shape]) + put())
                if code in dtypes_at:
                    out.write(get(dtypes_at[code]))
                else:
                    out.write(glob(b"numpy\ndtype\n") + py2_str(code.encode()) + put())
                    out.write(b"K\x00K\x01\x87R" + put())
                    dtypes_at[code] = memo["n"]
                    out.write(b"(K\x03" + py2_str(order.encode()) + b"NNN")
                    out.write(b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t" + put() + b"b")
                out.write(b"\x89" + py2_str(arr.tobytes()) + put() + b"tb")
            out.write(b"u")
        out.write(b".")


def read_titles(path: Path) -> dict[str, str]:
    """Movie titles by trailer key from the ``movies`` table, for readable reports; {} if absent."""
    with contextlib.closing(labels._connect_readonly(Path(path))) as conn:
        if not labels._table_exists(conn, "movies"):
            return {}
        columns = {row[1] for row in conn.execute('PRAGMA table_info("movies")')}
        if not {"imdbID", "Title"} <= columns:
            return {}
        rows = conn.execute("SELECT imdbID, Title FROM movies").fetchall()
    titles: dict[str, str] = {}
    for raw_id, title in rows:
        trailer_id = labels._as_int(raw_id)
        if trailer_id is None or trailer_id < 0 or title is None:
            continue
        titles[labels.trailer_key(trailer_id)] = str(title)
    return titles


#: the import settings the tests use with LMTD_LABELS and lmtd_features
LMTD_MAX_FRAMES = 20
LMTD_N_SHARDS = 4

#: trailer id -> (split, genres); 4242 is labelled but has no features; 31..35 broken ones
LMTD_LABELS: dict[int, tuple[int, tuple[str, ...]]] = {
    2: (0, ("Action", "Drama")),
    5: (0, ("Comedy",)),
    17: (1, ("Horror",)),
    123: (2, ("Romance", "Comedy")),
    250: (0, ("Drama",)),
    999: (1, ("SciFi", "Thriller")),
    1000: (2, ("Action", "Adventure")),
    4242: (0, ("Crime",)),
    31: (0, ("Drama",)),
    32: (0, ("Action",)),
    33: (1, ("Horror",)),
    34: (2, ("Comedy",)),
    35: (0, ("Romance",)),
}
#: trailer id -> frame count of lmtd_features' well-formed entries (777777 is unlabelled)
LMTD_GOOD_FRAMES = {2: 30, 5: 5, 17: 12, 123: 25, 250: 8, 999: 20, 1000: 17, 777777: 9}
#: trailer key -> what is wrong with lmtd_features' broken entry (the import's problem kind)
LMTD_MALFORMED = {
    "000031": "not_2d",
    "000032": "not_2d",
    "000033": "wrong_width",
    "000034": "empty",
    "000035": "non_finite",
}


def lmtd_features() -> dict[str, np.ndarray]:
    """LMTD-9-shaped features (2048 wide) by trailer key: LMTD_GOOD_FRAMES and LMTD_MALFORMED."""
    rng = np.random.default_rng(3)
    feats = {
        f"{i:06d}": rng.gamma(1.0, 0.5, size=(n, 2048)).astype(np.float32)
        for i, n in LMTD_GOOD_FRAMES.items()
    }
    feats["000031"] = np.ones(2048, dtype=np.float32)  # 1-D
    feats["000032"] = np.ones((2, 6, 2048), dtype=np.float32)  # 3-D
    feats["000033"] = np.ones((7, 2047), dtype=np.float32)  # wrong width
    feats["000034"] = np.zeros((0, 2048), dtype=np.float32)  # empty
    bad = np.ones((6, 2048), dtype=np.float32)
    bad[3, 100] = np.nan
    feats["000035"] = bad
    return feats
