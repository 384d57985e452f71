"""Read a pickled dict of numeric numpy arrays without ever running numpy's unpickling code.

Allow-listing numpy's globals is not enough: ``numpy.dtype`` returns a mutable dtype whose
BUILD (``__setstate__``) can set the "holds object references" flags, and ``ndarray`` called
with dtype ``'O'`` turns attacker bytes into object pointers (both crash the interpreter).
So here the allowed globals resolve to inert markers; REDUCE and BUILD on them only record
and check what the pickle claims (dtype code from a numeric allow-list, the standard dtype
state, a shape whose byte size equals the payload actually present), and the array is then
made with ``np.frombuffer`` from those checked facts. Opcodes outside what such a dict needs
are refused, containers are bounded in depth, keys in length, and no read may claim more
bytes than the file holds. Every refusal names the dict entry it happened in.
"""

from __future__ import annotations

import _compat_pickle
import io
import math
import os
import pickle
import struct
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

import numpy as np

# Strings and bytes above this size are array payloads: not kept in the unpickler's memo.
LARGE_PAYLOAD = 1 << 16
MAX_DEPTH = 3  # ndarray state ((1, shape, dtype, fortran, data)) is the deepest: 2
MAX_MARKS = 8  # nested MARKs: a feature dict needs 3
MAX_KEY_CHARS = 64  # trailer ids are 6 digits
MAX_DIMS = 8
MAX_LINE = 4096  # text opcodes (GLOBAL names, INT, LONG, STRING): LMTD's are short
MAX_LONG_BYTES = 16  # LONG4 integers: shapes and ids fit in 8 bytes

# numpy dtype codes an array may have (byte order given separately or as a prefix).
NUMERIC_DTYPES = frozenset(
    ["b1", "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]
)
_BYTE_ORDERS = ("<", ">", "|", "=")


class UnsafePickleError(pickle.UnpicklingError):
    """A feature pickle that names something outside the numpy allow-list (or is not a dict)."""


class FeaturePickleError(ValueError):
    """A feature pickle that is allowed but unusable: truncated, corrupt or oddly keyed."""


class _Marker:
    """What an allowed global resolves to: a name, never a callable of numpy's."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


RECONSTRUCT = _Marker("numpy _reconstruct")
NDARRAY = _Marker("numpy.ndarray")
DTYPE = _Marker("numpy.dtype")
ENCODE = _Marker("_codecs.encode")
BYTES = _Marker("bytes")

# (module, name) as written in the pickle -> the marker it resolves to. This is everything a
# dict of numpy arrays needs (recorded from real pickles: Python 2 numpy, Python 3 numpy
# 1.x/2.x, protocols 2-4); copyreg._reconstructor, numpy scalars, other builtins: refused.
ALLOWED_GLOBALS: Mapping[tuple[str, str], _Marker] = MappingProxyType(
    {
        ("numpy.core.multiarray", "_reconstruct"): RECONSTRUCT,  # numpy < 2 (and Py2)
        ("numpy._core.multiarray", "_reconstruct"): RECONSTRUCT,  # numpy >= 2
        ("numpy", "ndarray"): NDARRAY,  # _reconstruct's first argument
        ("numpy", "dtype"): DTYPE,  # the array's dtype, e.g. ('f4', 0, 1)
        ("_codecs", "encode"): ENCODE,  # bytes in Python 3 protocol-2 pickles
        ("__builtin__", "bytes"): BYTES,  # b"" in Python 3 protocol-2 pickles (empty arrays)
        ("builtins", "bytes"): BYTES,
    }
)


class _DtypeSpec:
    """``numpy.dtype(code)`` as the pickle claimed it; BUILD may only set the byte order."""

    __slots__ = ("dtype", "built")

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.built = False


class _ArraySpec:
    """``_reconstruct(ndarray, ...)`` before its BUILD: not an array yet."""

    __slots__ = ()


_PARTIAL = (_Marker, _DtypeSpec, _ArraySpec)
_SCALARS = (type(None), bool, int, float, str, bytes, _Marker, _DtypeSpec, _ArraySpec)


class _BoundedReader(io.RawIOBase):
    """The file, refusing any read that claims more bytes than are left in it: a length
    field of 2**63 must not become a 2**63-byte allocation."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__()
        self._handle = handle
        self._left = os.fstat(handle.fileno()).st_size - handle.tell()

    def _claim(self, n: int) -> None:
        if n > self._left:
            raise FeaturePickleError(
                f"a length field claims {n} bytes but only {self._left} are left in the file"
            )

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else n
        self._claim(n)
        data = self._handle.read(n)
        self._left -= len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        self._claim(len(buffer))
        got = self._handle.readinto(buffer)
        self._left -= got
        return got

    def readline(self, limit: int = -1) -> bytes:
        line = self._handle.readline(min(self._left, MAX_LINE) if limit < 0 else limit)
        self._left -= len(line)
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            raise FeaturePickleError(f"a text field longer than {MAX_LINE} bytes")
        return line

    def readable(self) -> bool:
        return True


_DROPPED = object()  # stands in the memo for a payload that was not kept


class _LeanMemo(dict):
    """The unpickler's memo, minus array payloads: a Python-2 pickle memoizes every string,
    so keeping them would hold a second copy of all features until the load ends."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, (str, bytes, bytearray)) and len(value) > LARGE_PAYLOAD:
            value = _DROPPED
        super().__setitem__(key, value)

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        if value is _DROPPED:
            raise FeaturePickleError(
                f"the pickle refers back to a large string (memo {key}): not a dict of arrays"
            )
        return value


def describe_global(module: str, name: str) -> str:
    """``module.name``, plus the Python 3 name when a Python 2 one was written."""
    text = f"{module}.{name}"
    py3 = _compat_pickle.NAME_MAPPING.get((module, name))
    if py3 is None and module in _compat_pickle.IMPORT_MAPPING:
        py3 = (_compat_pickle.IMPORT_MAPPING[module], name)
    return text if py3 is None else f"{text} (Python 3: {py3[0]}.{py3[1]})"


def _short(value: Any) -> str:
    """A repr that cannot be huge or recurse: for messages about attacker data."""
    if isinstance(value, (str, bytes)):
        text = repr(value[:40]) + ("..." if len(value) > 40 else "")
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if value.bit_length() <= 64 else f"<{value.bit_length()}-bit int>"
    elif isinstance(value, (type(None), bool, float, _Marker)):
        text = repr(value)
    else:
        text = f"<{type(value).__name__}>"
    return text


def _printable(text: Any) -> str:
    """A name from the pickle, cut short, with control characters escaped (one line)."""
    text = str(text)[:80]
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _small_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62


_OPS = {op.code.encode("latin1")[0]: op.name for op in __import__("pickletools").opcodes}
_ALLOWED_OPS = frozenset(
    """PROTO FRAME STOP MARK POP POP_MARK DUP NONE NEWTRUE NEWFALSE INT BININT BININT1
    BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT STRING BINSTRING SHORT_BINSTRING UNICODE
    BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINBYTES SHORT_BINBYTES BINBYTES8 EMPTY_TUPLE
    TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST LIST APPEND APPENDS EMPTY_DICT DICT SETITEM
    SETITEMS GLOBAL STACK_GLOBAL REDUCE BUILD PUT BINPUT LONG_BINPUT MEMOIZE GET BINGET
    LONG_BINGET""".split()
)


class _Refuse:
    """Dispatch entry for an opcode a dict of arrays never needs."""

    def __init__(self, code: int) -> None:
        self.code = code

    def __call__(self, unpickler: Any) -> None:
        name = _OPS.get(self.code)
        what = f"opcode {name}" if name else f"unknown opcode {bytes([self.code])!r}"
        raise UnsafePickleError(f"refused {what}: a feature pickle is a dict of numpy arrays")


class SafeUnpickler(pickle._Unpickler):
    """Python's pure-Python unpickler with its opcode table cut to what a dict of numeric
    arrays needs, and REDUCE / BUILD / containers replaced by checked versions."""

    dispatch: dict[int, Any] = {}

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(_BoundedReader(file), encoding="latin1")
        self.memo = _LeanMemo()
        self._depth: dict[int, tuple[int, tuple]] = {}  # id(tuple) -> (depth, the tuple)
        self._setting: Any = None  # the key SETITEM is storing

    # -- where we are, for messages --------------------------------------------------------

    def where(self) -> str:
        """The dict entry being read: its key when it has been read, else its number."""
        frames = [*self.metastack, self.stack]
        if not frames[0] or type(frames[0][0]) is not dict:
            return "the top level"
        done = len(frames[0][0])
        items = frames[0][1:] if len(frames[0]) > 1 else (frames[1] if len(frames) > 1 else [])
        i = 0  # keys sit at even places; a value still being built starts with a numpy marker
        while i + 2 < len(items) and not isinstance(items[i + 1], _PARTIAL):
            i += 2
        key = items[i] if items else self._setting
        if isinstance(key, bytes):
            key = key.decode("latin1")
        if isinstance(key, str) and len(key) <= MAX_KEY_CHARS:
            return f"entry {key!r}"
        return f"entry #{done + i // 2 + 1}"

    # -- containers ------------------------------------------------------------------------

    def _tuple(self, items: list) -> tuple:
        depth = 0
        for item in items:
            if isinstance(item, tuple):
                known = self._depth.get(id(item))
                depth = max(depth, known[0] if known else 1)
            elif not isinstance(item, _SCALARS) and not isinstance(item, np.ndarray):
                raise UnsafePickleError(
                    f"a tuple holds a {type(item).__name__}: only numbers, strings and tuples"
                )
        if depth + 1 > MAX_DEPTH:
            raise FeaturePickleError(f"tuples nested deeper than {MAX_DEPTH}")
        result = tuple(items)
        if result:
            self._depth[id(result)] = (depth + 1, result)
        return result

    def load_tuple(self) -> None:
        items = self.pop_mark()  # before self.append: pop_mark rebinds it
        self.append(self._tuple(items))

    def load_tuple1(self) -> None:
        self.stack[-1] = self._tuple([self.stack[-1]])

    def load_tuple2(self) -> None:
        self.stack[-2:] = [self._tuple(self.stack[-2:])]

    def load_tuple3(self) -> None:
        self.stack[-3:] = [self._tuple(self.stack[-3:])]

    def load_mark(self) -> None:
        if len(self.metastack) >= MAX_MARKS:
            raise FeaturePickleError(f"MARKs nested deeper than {MAX_MARKS}")
        super().load_mark()

    def _list_items(self, items: list) -> list:
        for item in items:
            if not isinstance(item, (*_SCALARS, np.ndarray)):
                raise UnsafePickleError(f"a list holds a {type(item).__name__}")
        return items

    def load_list(self) -> None:
        items = self.pop_mark()
        self.append(self._list_items(items))

    def load_append(self) -> None:
        value = self.stack.pop()
        target = self.stack[-1]
        if type(target) is not list:
            raise UnsafePickleError(f"APPEND to a {type(target).__name__}")
        target.extend(self._list_items([value]))

    def load_appends(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if type(target) is not list:
            raise UnsafePickleError(f"APPENDS to a {type(target).__name__}")
        target.extend(self._list_items(items))

    def _set(self, target: Any, key: Any, value: Any) -> None:
        self._setting = key  # for where(): SETITEM(S) has taken it off the stack
        if type(target) is not dict:
            raise UnsafePickleError(f"SETITEM on a {type(target).__name__}, not a dict")
        if isinstance(key, (str, bytes)):
            if len(key) > MAX_KEY_CHARS:
                raise FeaturePickleError(
                    f"a key of {len(key)} characters (at most {MAX_KEY_CHARS}): {_short(key)}"
                )
        elif not isinstance(key, int) or isinstance(key, bool) or abs(key) >= 1 << 63:
            raise FeaturePickleError(f"key {_short(key)} is not a string or a 64-bit integer")
        if isinstance(value, (dict, list)):
            raise UnsafePickleError(f"key {_short(key)} holds a {type(value).__name__}")
        target[key] = value
        self._setting = None

    def load_dict(self) -> None:
        items = self.pop_mark()
        result: dict = {}
        if len(items) % 2:
            raise FeaturePickleError("DICT with an odd number of items")
        for i in range(0, len(items), 2):
            self._set(result, items[i], items[i + 1])
        self.append(result)

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._set(self.stack[-1], key, value)

    def load_setitems(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            raise FeaturePickleError("SETITEMS with an odd number of items")
        target = self.stack[-1]
        for i in range(0, len(items), 2):
            self._set(target, items[i], items[i + 1])

    def load_long4(self) -> None:
        (n,) = struct.unpack("<i", self.read(4))
        if n < 0 or n > MAX_LONG_BYTES:
            raise FeaturePickleError(f"a LONG4 integer of {n} bytes (at most {MAX_LONG_BYTES})")
        self.append(pickle.decode_long(self.read(n)))

    # -- globals, REDUCE, BUILD ------------------------------------------------------------

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(
                f"refused to load {describe_global(_printable(module), _printable(name))}: a "
                "feature pickle may only contain numpy arrays in a dict"
            ) from None

    def load_stack_global(self) -> None:
        name = self.stack.pop()
        module = self.stack.pop()
        if not isinstance(module, str) or not isinstance(name, str):
            raise UnsafePickleError("STACK_GLOBAL with a name that is not a string")
        self.append(self.find_class(module, name))

    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not isinstance(args, tuple):
            raise UnsafePickleError(f"REDUCE with arguments {_short(args)}, not a tuple")
        self.stack[-1] = _call(func, args)

    def load_build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, _DtypeSpec):
            _build_dtype(target, state)
        elif isinstance(target, _ArraySpec):
            self.stack[-1] = _build_array(state)
        else:
            raise UnsafePickleError(f"BUILD on a {type(target).__name__}: only numpy arrays")

    def _decode_string(self, value: bytes) -> Any:
        # Python-2 str payloads stay bytes (numpy takes them as is): one copy fewer.
        return value if len(value) > LARGE_PAYLOAD else super()._decode_string(value)


for _code in range(256):
    _name = _OPS.get(_code)
    if _name in _ALLOWED_OPS:
        SafeUnpickler.dispatch[_code] = pickle._Unpickler.dispatch[_code]
    else:
        SafeUnpickler.dispatch[_code] = _Refuse(_code)
for _code, _method in pickle._Unpickler.dispatch.items():
    if _OPS.get(_code) in _ALLOWED_OPS and hasattr(SafeUnpickler, _method.__name__):
        SafeUnpickler.dispatch[_code] = getattr(SafeUnpickler, _method.__name__)


def _call(func: Any, args: tuple) -> Any:
    """REDUCE on an allowed marker: check the arguments, return an inert record."""
    if func is RECONSTRUCT:
        if len(args) != 3 or args[0] is not NDARRAY or not isinstance(args[1], tuple):
            raise UnsafePickleError(
                f"numpy _reconstruct of {_short(args[0] if args else None)}: only "
                "numpy.ndarray may be rebuilt"
            )
        if args[2] not in (b"b", "b"):
            raise UnsafePickleError(f"numpy _reconstruct with dtype {_short(args[2])}")
        return _ArraySpec()
    if func is DTYPE:
        return _DtypeSpec(numeric_dtype(*args))
    if func is ENCODE:
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
            raise UnsafePickleError("_codecs.encode: only (text, 'latin1') is allowed")
        if args[1].lower().replace("-", "") != "latin1":
            raise UnsafePickleError(
                f"_codecs.encode with encoding {_short(args[1])}: only latin1 text -> bytes"
            )
        return args[0].encode("latin1")
    if func is BYTES:
        if args:
            raise UnsafePickleError("bytes(...) with arguments: only bytes() (empty) is allowed")
        return b""
    if func is NDARRAY:
        raise UnsafePickleError("numpy.ndarray(...) called: arrays may only come from _reconstruct")
    raise UnsafePickleError(f"REDUCE on a {type(func).__name__}: only allowed numpy globals")


def numeric_dtype(spec: Any = None, align: Any = False, copy: Any = False, *rest: Any) -> np.dtype:
    """A numpy dtype from a code in NUMERIC_DTYPES: object, record and datetime dtypes
    could carry references or nested objects, and feature arrays never need them."""
    if isinstance(spec, bytes):
        spec = spec.decode("latin1")
    if not isinstance(spec, str) or len(spec) > 8:
        raise UnsafePickleError(f"numpy.dtype({_short(spec)}): only dtype codes such as 'f4'")
    if rest or not all(isinstance(flag, (bool, int)) and flag in (0, 1) for flag in (align, copy)):
        raise UnsafePickleError(f"numpy.dtype({spec!r}) with unexpected arguments")
    code = spec[1:] if spec[:1] in _BYTE_ORDERS else spec
    if code not in NUMERIC_DTYPES:
        raise UnsafePickleError(
            f"numpy.dtype({spec!r}): only numeric dtypes are allowed "
            f"({', '.join(sorted(NUMERIC_DTYPES))})"
        )
    return np.dtype(spec)


def _build_dtype(target: _DtypeSpec, state: Any) -> None:
    """BUILD on a dtype: only numpy's own plain state, ``(3, order, None, None, None, -1,
    -1, 0)``; anything else (flags, fields, sizes) is exactly what corrupts memory."""
    if target.built:
        raise UnsafePickleError("a second BUILD on one numpy.dtype")
    plain = (
        isinstance(state, tuple)
        and len(state) == 8
        and state[0] == 3
        and state[1] in _BYTE_ORDERS
        and state[2:5] == (None, None, None)
        and state[5:] == (-1, -1, 0)
        and all(type(v) is int for v in (state[0], *state[5:]))
    )
    if not plain:
        raise UnsafePickleError(
            f"numpy.dtype state {_short(state) if not isinstance(state, tuple) else state[:8]!r}"
            f": only (3, byte order, None, None, None, -1, -1, 0) is allowed"
            if isinstance(state, tuple)
            and all(isinstance(v, _SCALARS) for v in state)
            and len(state) <= 16
            else "numpy.dtype state that is not numpy's plain (3, order, None, ..., 0)"
        )
    order = state[1]
    if order in "<>" and target.dtype.itemsize > 1:
        target.dtype = target.dtype.newbyteorder(order)
    target.built = True


def _build_array(state: Any) -> np.ndarray:
    """BUILD on ``_reconstruct``'s result: (version, shape, dtype, fortran, data), checked
    against the bytes present, then ``np.frombuffer`` (the data is never interpreted)."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise FeaturePickleError("array state is not (version, shape, dtype, fortran, data)")
    if len(state) == 5:
        if state[0] != 1 or type(state[0]) is not int:
            raise FeaturePickleError(f"array state version {_short(state[0])}")
        state = state[1:]
    shape, spec, fortran, data = state
    if not isinstance(spec, _DtypeSpec):
        raise UnsafePickleError(f"array dtype is a {type(spec).__name__}, not numpy.dtype")
    if not isinstance(shape, tuple) or len(shape) > MAX_DIMS or not all(map(_small_int, shape)):
        raise FeaturePickleError(f"array shape is not up to {MAX_DIMS} non-negative integers")
    if fortran not in (0, 1) or not isinstance(fortran, (bool, int)):
        raise FeaturePickleError(f"array fortran flag {_short(fortran)}")
    if isinstance(data, str):
        data = data.encode("latin1")
    if not isinstance(data, bytes):
        raise UnsafePickleError(f"array data is a {type(data).__name__}, not bytes")
    claimed = math.prod(shape) * spec.dtype.itemsize
    if claimed != len(data):
        raise FeaturePickleError(
            f"array shape {list(shape)} of {spec.dtype} needs {claimed} bytes but the pickle "
            f"holds {len(data)}"
        )
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype=spec.dtype).reshape(shape, order=order)


def load_array_dict(path: Path) -> dict:
    """The pickle's top-level dict, its arrays made only from checked claims.

    Raises UnsafePickleError (something outside the allow-list) or FeaturePickleError
    (allowed but corrupt, truncated, too deep or too big), each naming the entry.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        unpickler = SafeUnpickler(handle)
        try:
            obj = unpickler.load()
        except (UnsafePickleError, FeaturePickleError) as exc:
            raise type(exc)(f"{path}: {unpickler.where()}: {exc}") from None
        except (EOFError, pickle.UnpicklingError) as exc:
            raise FeaturePickleError(
                f"{path}: {unpickler.where()}: not a readable feature pickle ({exc or 'EOF'})"
            ) from None
        except (
            ValueError,
            TypeError,
            AttributeError,
            IndexError,
            KeyError,
            struct.error,
            OverflowError,
            UnicodeDecodeError,
            MemoryError,
            RecursionError,
        ) as exc:
            raise FeaturePickleError(
                f"{path}: {unpickler.where()}: corrupt pickle ({type(exc).__name__}: "
                f"{str(exc)[:200]})"
            ) from None
        finally:
            unpickler.memo.clear()  # the memo holds every array too: free them with the dict
            unpickler._depth.clear()
            unpickler.stack, unpickler.metastack = [], []
    if not isinstance(obj, dict):
        raise UnsafePickleError(
            f"{path}: top-level object is a {type(obj).__module__}.{type(obj).__qualname__}, "
            "expected a dict of trailer id -> array"
        )
    for key, value in obj.items():
        if isinstance(value, (_ArraySpec, _DtypeSpec, _Marker)):
            name = key.decode("latin1") if isinstance(key, bytes) else key
            raise FeaturePickleError(
                f"{path}: entry {name!r}: an unfinished numpy object (no BUILD), not an array"
            )
    return obj


__all__ = [
    "ALLOWED_GLOBALS",
    "FeaturePickleError",
    "NUMERIC_DTYPES",
    "SafeUnpickler",
    "UnsafePickleError",
    "load_array_dict",
    "numeric_dtype",
]
