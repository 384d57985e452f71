"""Crafted feature pickles that crashed or fooled the old allow-listed unpickler (issue 12).

Each runs the real `moviegenre import-lmtd` in a child process: a segfault must show as a
signal there, not take the test run down. Every one must end with exit 2, a single line
naming the entry, and nothing written.
"""

from __future__ import annotations

import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, run

from moviegenre.data.label_writer import write_lmtd_db
from moviegenre.genres import GENRES_9

HEAD = b"\x80\x02}q\x00(U\x06000002q\x01"  # {  "000002": ...
TAIL = b"u."


def _glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(data: bytes) -> bytes:
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<i", len(data)) + data


def _ints(*values: int) -> bytes:
    return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"


def _dtype(code: bytes, state: bytes) -> bytes:
    return _glob("numpy", "dtype") + _str(code) + b"K\x00K\x01\x87R" + state + b"b"


PLAIN_STATE = b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"


def _array(shape: tuple[int, ...], dtype: bytes, data: bytes) -> bytes:
    """_reconstruct(ndarray, (0,), 'b') then BUILD (1, shape, dtype, False, data)."""
    return (
        _glob("numpy.core.multiarray", "_reconstruct")
        + _glob("numpy", "ndarray")
        + b"K\x00\x85U\x01b\x87R"
        + b"(K\x01"
        + _ints(*shape)
        + dtype
        + b"\x89"
        + _str(data)
        + b"tb"
    )


# dtype state with the "holds object references" flags (NPY_ITEM_REFCOUNT | ...) and an
# 8-byte element over attacker bytes: the old loader died with SIGSEGV (exit 139).
FLAGS_STATE = b"(K\x03U\x01|NNNK\x08K\x08K\x3ft"
CASES: dict[str, tuple[bytes, str]] = {
    "dtype_build_sets_object_flags": (
        HEAD + _array((2,), _dtype(b"f8", FLAGS_STATE), b"A" * 16) + TAIL,
        "entry '000002': numpy.dtype state",
    ),
    "second_build_on_dtype": (
        HEAD + _array((1,), _dtype(b"f8", PLAIN_STATE) + PLAIN_STATE + b"b", b"A" * 8) + TAIL,
        "entry '000002': a second BUILD on one numpy.dtype",
    ),
    # ndarray((1,), 'O', b'AAAAAAAA'): an object array whose pointer is the attacker's bytes.
    "ndarray_called_with_object_dtype": (
        HEAD + _glob("numpy", "ndarray") + b"K\x01\x85U\x01O" + _str(b"A" * 8) + b"\x87R" + TAIL,
        "entry '000002': numpy.ndarray(...) called",
    ),
    "object_dtype_via_numpy_dtype": (
        HEAD + _array((1,), _dtype(b"O8", PLAIN_STATE), b"A" * 8) + TAIL,
        "entry '000002': numpy.dtype('O8'): only numeric dtypes",
    ),
    "record_dtype": (
        HEAD + _array((1,), _dtype(b"V8", PLAIN_STATE), b"A" * 8) + TAIL,
        "numpy.dtype('V8'): only numeric dtypes",
    ),
    # A dict key nested a million tuples deep: hashing it overflowed the C stack.
    "key_nested_1e6_deep": (
        b"\x80\x02}q\x00K\x00" + b"\x85" * 1_000_000 + b"Ns.",
        "entry #1: tuples nested deeper than 3",
    ),
    "key_nested_1e5_deep": (
        b"\x80\x02}q\x00K\x00" + b"\x85" * 100_000 + b"Ns.",
        "tuples nested deeper than 3",
    ),
    "key_of_5000_digits_long4": (
        b"\x80\x02}q\x00\x8b" + struct.pack("<i", 2100) + b"\x01" * 2100 + b"Ns.",
        "LONG4 integer of 2100 bytes",
    ),
    "key_of_5000_digits_text": (
        b"\x80\x02}q\x00L" + b"9" * 5000 + b"L\nNs.",
        "entry #1: a text field longer than 4096 bytes",
    ),
    "key_of_600_digits": (
        b"\x80\x02}q\x00\x8a\xff" + b"\x01" * 255 + b"Ns.",
        "key <2033-bit int> is not a string or a 64-bit integer",
    ),
    "long_string_key": (
        b"\x80\x02}q\x00" + _str(b"7" * 5000) + b"Ns.",
        "a key of 5000 characters",
    ),
    # [10^9, 2048] float32 claimed, 16 bytes present.
    "shape_claims_8_terabytes": (
        HEAD + _array((10**9, 2048), _dtype(b"f4", PLAIN_STATE), b"\0" * 16) + TAIL,
        "entry '000002': array shape [1000000000, 2048] of float32 needs 8192000000000 bytes "
        "but the pickle holds 16",
    ),
    "payload_length_beyond_the_file": (
        HEAD + b"T" + struct.pack("<i", 2**31 - 1) + b"abc",
        "claims 2147483647 bytes but only 3 are left",
    ),
    "dict_holds_itself": (
        b"\x80\x02}q\x00U\x06000002h\x00s.",
        "entry '000002': key '000002' holds a dict",
    ),
    "setitem_on_an_array": (
        HEAD + _array((1,), _dtype(b"f8", PLAIN_STATE), b"A" * 8) + b"K\x00K\x01s" + TAIL,
        "SETITEM on a ndarray",
    ),
    "marks_nested_deep": (b"\x80\x02}" + b"(" * 100_000 + b".", "MARKs nested deeper than 8"),
    "ext_opcode": (HEAD + b"\x82\x01" + TAIL, "refused opcode EXT1"),
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "database.db"
    write_lmtd_db(path, [2, 5], [0, 1], np.eye(2, len(GENRES_9), dtype=np.int64))
    return path


def import_lmtd_cli(tmp_path: Path, db: Path, data: bytes):
    """`moviegenre import-lmtd` on a pickle holding `data`, in an otherwise empty folder."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "params.yaml", work / "params.yaml")
    (work / "features.pickle").write_bytes(data)
    cmd = ["moviegenre", "import-lmtd", "--db", str(db), "--features", "features.pickle"]
    return work, run([*cmd, "--no-params"], work, check=False, timeout=120)


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_pickle_is_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, db: Path, case: str
) -> None:
    data, expected = CASES[case]
    work, result = import_lmtd_cli(tmp_path, db, data)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moviegenre import-lmtd: "), lines[-5:]
    assert "features.pickle: " in lines[0] and expected in lines[0], lines[0]
    assert sorted(p.name for p in work.iterdir()) == ["features.pickle", "params.yaml"]


def test_python3_protocol2_empty_array_is_accepted(tmp_path: Path, db: Path) -> None:
    """Python 3 writes b"" in protocol 2 as `__builtin__.bytes()`: a valid pickle."""
    features = {
        "000002": np.ones((3, 2048), np.float32),
        "000005": np.zeros((0, 2048), np.float32),
    }
    data = pickle.dumps(features, protocol=2)
    assert b"__builtin__\nbytes" in data
    work, result = import_lmtd_cli(tmp_path, db, data)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 of 2 feature entries imported" in result.stdout
    assert "empty: 1" in result.stdout
