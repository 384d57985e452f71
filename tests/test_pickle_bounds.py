"""Every structural bound and refusal of the safe feature-pickle reader, one case each (issue 24).

Each refused case breaks exactly one rule of moviegenre.data.safe_pickle, just past its bound,
and is checked by its own message: a later, looser check (the byte count, numpy's reshape,
pickle's own errors) would refuse it too but with another message, so removing or loosening
the rule alone fails its case. The accepted cases sit exactly at each bound. The reader
never runs numpy's unpickling code, so the pickles are loaded in-process (the crash cases
that need a child process are in test_pickle_safety.py). Each refusal rule has its patch
rule_pickle_* in tests/guards/ or tests/guards/slow/ (test_guards.py).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from moviegenre.data.safe_pickle import FeaturePickleError, UnsafePickleError, load_array_dict

# ---- a small pickle writer: protocol 2 opcodes, so each case reads as what it claims -------

PROTO, STOP, MARK, NONE, TRUE, FALSE = b"\x80\x02", b".", b"(", b"N", b"\x88", b"\x89"
EMPTY_DICT, EMPTY_LIST, REDUCE, BUILD = b"}", b"]", b"R", b"b"


def integer(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if -(2**31) <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data  # LONG1


def text(data: str | bytes) -> bytes:
    """A Python-2 str (SHORT_BINSTRING / BINSTRING): text or array payload."""
    raw = data.encode("latin1") if isinstance(data, str) else data
    if len(raw) < 256:
        return b"U" + bytes([len(raw)]) + raw
    return b"T" + struct.pack("<i", len(raw)) + raw


def floating(value: float) -> bytes:
    return b"G" + struct.pack(">d", value)


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + b"t"


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def plain_state(order: str = "<") -> tuple[bytes, ...]:
    """numpy's own dtype state, item by item: (3, order, None, None, None, -1, -1, 0)."""
    return (integer(3), text(order), NONE, NONE, NONE, integer(-1), integer(-1), integer(0))


def dtype(code: str = "f4", state: bytes | None = None, args: bytes | None = None) -> bytes:
    args = tup(text(code), integer(0), integer(1)) if args is None else args
    return (
        glob("numpy", "dtype")
        + args
        + REDUCE
        + (tup(*plain_state()) if state is None else state)
        + BUILD
    )


def reconstruct(args: bytes | None = None) -> bytes:
    """_reconstruct(ndarray, (0,), 'b'): an array before its BUILD."""
    args = tup(glob("numpy", "ndarray"), tup(integer(0)), text("b")) if args is None else args
    return glob("numpy._core.multiarray", "_reconstruct") + args + REDUCE


def array(
    shape: tuple[bytes, ...],
    data: bytes,
    spec: bytes | None = None,
    fortran: bytes = FALSE,
    version: bytes = integer(1),
) -> bytes:
    """An array: reconstruct, then BUILD (version, shape, dtype, fortran, data)."""
    spec = dtype("f4") if spec is None else spec
    return reconstruct() + tup(version, tup(*shape), spec, fortran, data) + BUILD


def ints(*values: int) -> tuple[bytes, ...]:
    return tuple(integer(v) for v in values)


def entry(value: bytes, key: bytes = text("000002")) -> bytes:
    """{key: value} as a whole pickle."""
    return PROTO + EMPTY_DICT + key + value + b"s" + STOP


def f4(*shape: int) -> bytes:
    """An array of float32 zeros of `shape` (its data as many bytes as the shape needs)."""
    return array(ints(*shape), text(b"\0" * (4 * int(np.prod(shape)))))


def nested(depth: int) -> bytes:
    value = integer(1)
    for _ in range(depth):
        value = tup(value)
    return value


LARGE = "x" * ((1 << 16) + 1)  # over LARGE_PAYLOAD: dropped from the memo


def whole(data: bytes) -> bytes:
    """A case's pickle: a bare value is stored as {"000002": value}."""
    return data if data.startswith(PROTO) else entry(data)


# case -> (pickle or value, error class, words of the message that only that rule writes)
REFUSED: dict[str, tuple[bytes, type[Exception], str]] = {
    # array state (_build_array)
    "shape_over_8_dims": (f4(*[1] * 9), FeaturePickleError, "array shape is not up to 8"),
    "shape_negative": (
        array(ints(-2, -2), text(b"\0" * 16)),
        FeaturePickleError,
        "array shape is not up to 8 non-negative",
    ),
    "shape_bool": (
        array((TRUE, integer(1)), text(b"\0" * 4)),
        FeaturePickleError,
        "array shape is not up to 8 non-negative",
    ),
    "shape_2_to_62": (
        array(ints(2**62, 0), text(b"")),
        FeaturePickleError,
        "array shape is not up to 8 non-negative",
    ),
    "shape_not_a_tuple": (
        reconstruct() + tup(integer(1), integer(1), dtype(), FALSE, text(b"\0" * 4)) + BUILD,
        FeaturePickleError,
        "array shape is not up to 8",
    ),
    "bytes_fewer_than_shape": (
        array(ints(3), text(b"\0" * 8)),
        FeaturePickleError,
        "array shape [3] of float32 needs 12 bytes but the pickle holds 8",
    ),
    "fortran_flag_2": (
        array(ints(1), text(b"\0" * 4), fortran=integer(2)),
        FeaturePickleError,
        "array fortran flag 2",
    ),
    "fortran_flag_float": (
        array(ints(1), text(b"\0" * 4), fortran=floating(1.0)),
        FeaturePickleError,
        "array fortran flag 1.0",
    ),
    "data_not_bytes": (
        array(ints(1), integer(5)),
        UnsafePickleError,
        "array data is a int, not bytes",
    ),
    "state_version_2": (
        array(ints(1), text(b"\0" * 4), version=integer(2)),
        FeaturePickleError,
        "array state version 2",
    ),
    "state_version_true": (
        array(ints(1), text(b"\0" * 4), version=TRUE),
        FeaturePickleError,
        "array state version True",
    ),
    "state_of_3_items": (
        reconstruct() + tup(tup(integer(1)), dtype(), FALSE) + BUILD,
        FeaturePickleError,
        "array state is not (version, shape",
    ),
    "state_dtype_a_string": (
        reconstruct()
        + tup(integer(1), tup(integer(1)), text("f4"), FALSE, text(b"\0" * 4))
        + BUILD,
        UnsafePickleError,
        "array dtype is a str, not numpy.dtype",
    ),
    # dtype BUILD (_build_dtype): only numpy's plain state, each part on its own
    "dtype_state_version_4": (
        f4(1).replace(tup(*plain_state()), tup(integer(4), *plain_state()[1:])),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_state_version_float": (
        f4(1).replace(tup(*plain_state()), tup(floating(3.0), *plain_state()[1:])),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_state_byte_order_x": (
        f4(1).replace(tup(*plain_state()), tup(*plain_state("x"))),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_state_with_fields": (
        f4(1).replace(
            tup(*plain_state()), tup(*plain_state()[:2], text("A"), NONE, NONE, *plain_state()[5:])
        ),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_state_object_flags": (
        f4(1).replace(tup(*plain_state()), tup(*plain_state()[:5], *ints(8, 8, 63))),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_state_flags_false": (
        f4(1).replace(tup(*plain_state()), tup(*plain_state()[:7], FALSE)),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_state_of_1_item": (
        f4(1).replace(tup(*plain_state()), tup(integer(3))),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_state_not_a_tuple": (
        f4(1).replace(tup(*plain_state()), integer(3)),
        UnsafePickleError,
        "numpy.dtype state",
    ),
    "dtype_built_twice": (
        array(ints(1), text(b"\0" * 4), spec=dtype() + tup(*plain_state()) + BUILD),
        UnsafePickleError,
        "a second BUILD on one numpy.dtype",
    ),
    # numpy.dtype(...) arguments (numeric_dtype)
    "dtype_code_not_text": (
        entry(dtype(args=tup(integer(4), integer(0), integer(1)))),
        UnsafePickleError,
        "numpy.dtype(4): only dtype codes",
    ),
    "dtype_code_of_9_chars": (
        entry(dtype(args=tup(text("<f4f4f4f4"), integer(0), integer(1)))),
        UnsafePickleError,
        "only dtype codes such as 'f4'",
    ),
    "dtype_extra_argument": (
        entry(dtype(args=tup(text("f4"), integer(0), integer(1), integer(0)))),
        UnsafePickleError,
        "with unexpected arguments",
    ),
    "dtype_align_2": (
        entry(dtype(args=tup(text("f4"), integer(2), integer(1)))),
        UnsafePickleError,
        "with unexpected arguments",
    ),
    "dtype_datetime": (entry(dtype("M8")), UnsafePickleError, "only numeric dtypes"),
    # REDUCE on the allowed globals (_call)
    "reconstruct_a_dtype": (
        entry(reconstruct(tup(glob("numpy", "dtype"), tup(integer(0)), text("b")))),
        UnsafePickleError,
        "only numpy.ndarray may be rebuilt",
    ),
    "reconstruct_2_arguments": (
        entry(reconstruct(tup(glob("numpy", "ndarray"), tup(integer(0))))),
        UnsafePickleError,
        "only numpy.ndarray may be rebuilt",
    ),
    "reconstruct_shape_not_tuple": (
        entry(reconstruct(tup(glob("numpy", "ndarray"), integer(0), text("b")))),
        UnsafePickleError,
        "only numpy.ndarray may be rebuilt",
    ),
    "reconstruct_dtype_c": (
        entry(reconstruct(tup(glob("numpy", "ndarray"), tup(integer(0)), text("c")))),
        UnsafePickleError,
        "numpy _reconstruct with dtype 'c'",
    ),
    "encode_as_utf16": (
        entry(glob("_codecs", "encode") + tup(text("ab"), text("utf-16")) + REDUCE),
        UnsafePickleError,
        "_codecs.encode with encoding 'utf-16'",
    ),
    "encode_1_argument": (
        entry(glob("_codecs", "encode") + tup(text("ab")) + REDUCE),
        UnsafePickleError,
        "only (text, 'latin1') is allowed",
    ),
    "bytes_with_an_argument": (
        entry(glob("builtins", "bytes") + tup(integer(3)) + REDUCE),
        UnsafePickleError,
        "bytes(...) with arguments",
    ),
    "reduce_arguments_not_a_tuple": (
        entry(glob("numpy", "dtype") + integer(1) + REDUCE),
        UnsafePickleError,
        "REDUCE with arguments 1, not a tuple",
    ),
    "reduce_on_a_string": (
        entry(text("os") + tup() + REDUCE),
        UnsafePickleError,
        "REDUCE on a str",
    ),
    "build_on_an_int": (
        entry(integer(1) + integer(2) + BUILD),
        UnsafePickleError,
        "BUILD on a int",
    ),
    "stack_global_of_ints": (
        entry(integer(1) + integer(2) + b"\x93"),
        UnsafePickleError,
        "STACK_GLOBAL with a name that is not a string",
    ),
    # containers
    "tuples_4_deep": (entry(nested(4)), FeaturePickleError, "tuples nested deeper than 3"),
    "tuple_holds_a_list": (entry(tup(EMPTY_LIST)), UnsafePickleError, "a tuple holds a list"),
    "marks_9_deep": (
        PROTO + EMPTY_DICT + MARK * 9 + b"1" * 9 + STOP,
        FeaturePickleError,
        "MARKs nested deeper than 8",
    ),
    "list_holds_a_dict": (
        entry(MARK + EMPTY_DICT + b"l"),
        UnsafePickleError,
        "a list holds a dict",
    ),
    "append_a_dict_to_a_list": (
        entry(EMPTY_LIST + EMPTY_DICT + b"a"),
        UnsafePickleError,
        "a list holds a dict",
    ),
    "append_to_a_dict": (
        PROTO + EMPTY_DICT + integer(1) + b"a" + STOP,
        UnsafePickleError,
        "APPEND to a dict",
    ),
    "appends_to_a_dict": (
        PROTO + EMPTY_DICT + MARK + integer(1) + b"e" + STOP,
        UnsafePickleError,
        "APPENDS to a dict",
    ),
    "dict_of_odd_items": (
        PROTO + MARK + integer(1) + b"d" + STOP,
        FeaturePickleError,
        "DICT with an odd number of items",
    ),
    "setitems_of_odd_items": (
        PROTO + EMPTY_DICT + MARK + integer(1) + b"u" + STOP,
        FeaturePickleError,
        "SETITEMS with an odd number of items",
    ),
    "setitem_on_a_list": (
        PROTO + EMPTY_LIST + integer(1) + integer(2) + b"s" + STOP,
        UnsafePickleError,
        "SETITEM on a list, not a dict",
    ),
    "value_a_list": (entry(EMPTY_LIST), UnsafePickleError, "key '000002' holds a list"),
    # keys
    "key_of_65_chars": (entry(NONE, text("7" * 65)), FeaturePickleError, "a key of 65 characters"),
    "key_2_to_63": (
        entry(NONE, integer(2**63)),
        FeaturePickleError,
        "key 9223372036854775808 is not a string or a 64-bit integer",
    ),
    "key_minus_2_to_63": (
        entry(NONE, integer(-(2**63))),
        FeaturePickleError,
        "is not a string or a 64-bit integer",
    ),
    "key_float": (entry(NONE, floating(1.5)), FeaturePickleError, "key 1.5 is not a string"),
    "key_bool": (entry(NONE, TRUE), FeaturePickleError, "key True is not a string"),
    # lengths read from the file
    "long4_of_17_bytes": (
        entry(b"\x8b" + struct.pack("<i", 17) + b"\x01" * 17),
        FeaturePickleError,
        "a LONG4 integer of 17 bytes",
    ),
    "long4_of_minus_1_bytes": (
        entry(b"\x8b" + struct.pack("<i", -1) + b"\x01" * 4),
        FeaturePickleError,
        "a LONG4 integer of -1 bytes",
    ),
    "text_line_over_4096": (
        entry(b"L" + b"9" * 5000 + b"L\n"),
        FeaturePickleError,
        "a text field longer than 4096 bytes",
    ),
    "length_beyond_the_file": (
        PROTO + EMPTY_DICT + b"T" + struct.pack("<i", 2**31 - 1) + b"abc",
        FeaturePickleError,
        "claims 2147483647 bytes but only 3 are left",
    ),
    "get_of_a_dropped_payload": (
        PROTO
        + EMPTY_DICT
        + MARK
        + text("000002")
        + text(LARGE)
        + b"q\x01"
        + text("000003")
        + b"h\x01"
        + b"u"
        + STOP,
        FeaturePickleError,
        "refers back to a large string (memo 1)",
    ),
    # what the whole pickle is
    "top_level_a_list": (
        PROTO + EMPTY_LIST + STOP,
        UnsafePickleError,
        "top-level object is a builtins.list",
    ),
    "array_without_build": (entry(reconstruct()), FeaturePickleError, "an unfinished numpy object"),
    "dtype_without_build": (
        entry(glob("numpy", "dtype") + tup(text("f4"), integer(0), integer(1)) + REDUCE),
        FeaturePickleError,
        "an unfinished numpy object",
    ),
    "opcode_ext1": (entry(b"\x82\x01"), UnsafePickleError, "refused opcode EXT1"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_each_rule_refuses_with_its_own_message(tmp_path: Path, case: str) -> None:
    data, error, message = REFUSED[case]
    path = tmp_path / "features.pickle"
    path.write_bytes(whole(data))
    with pytest.raises(error) as caught:
        load_array_dict(path)
    assert message in str(caught.value), str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


# case -> (pickle or value, the dict it holds): each bound reached, not passed
ACCEPTED: dict[str, tuple[bytes, dict]] = {
    "shape_of_8_dims": (f4(*[1] * 8), {"000002": np.zeros([1] * 8, np.float32)}),
    "shape_2_by_3": (
        array(ints(2, 3), text(np.arange(6, dtype="<f4").tobytes())),
        {"000002": np.arange(6, dtype=np.float32).reshape(2, 3)},
    ),
    "fortran_order": (
        array(ints(2, 3), text(np.arange(6, dtype="<f4").tobytes()), fortran=TRUE),
        {"000002": np.arange(6, dtype=np.float32).reshape(2, 3, order="F")},
    ),
    "big_endian_f8": (
        array(
            ints(2),
            text(np.array([1.5, -2.0], ">f8").tobytes()),
            spec=dtype("f8", tup(*plain_state(">"))),
        ),
        {"000002": np.array([1.5, -2.0], ">f8")},
    ),
    "tuples_3_deep": (entry(nested(3)), {"000002": (((1,),),)}),
    "marks_8_deep": (PROTO + EMPTY_DICT + MARK * 8 + b"1" * 8 + STOP, {}),
    "key_of_64_chars": (entry(NONE, text("7" * 64)), {"7" * 64: None}),
    "key_2_to_63_minus_1": (entry(NONE, integer(2**63 - 1)), {2**63 - 1: None}),
    "long4_of_16_bytes": (
        entry(b"\x8b" + struct.pack("<i", 16) + b"\x01" * 16),
        {"000002": int.from_bytes(b"\x01" * 16, "little")},
    ),
    "encode_latin_1": (
        entry(glob("_codecs", "encode") + tup(text("ab"), text("latin-1")) + REDUCE),
        {"000002": b"ab"},
    ),
    "bytes_empty": (entry(glob("__builtin__", "bytes") + tup() + REDUCE), {"000002": b""}),
    "large_payload_kept_once": (entry(text(LARGE) + b"q\x01"), {"000002": LARGE.encode()}),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_each_bound_itself_is_accepted(tmp_path: Path, case: str) -> None:
    data, expected = ACCEPTED[case]
    path = tmp_path / "features.pickle"
    path.write_bytes(whole(data))
    got = load_array_dict(path)
    assert list(got) == list(expected)
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            assert got[key].dtype == value.dtype
            np.testing.assert_array_equal(got[key], value)
            assert got[key].flags.f_contiguous == value.flags.f_contiguous
        else:
            assert got[key] == value
