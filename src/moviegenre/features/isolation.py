"""Native-risky work for one trailer at a time in a child process: a crash costs that trailer.

FFmpeg's decoders and PyAV's buffers are C code: a bad file (issue 22: 7.1 AAC through
PyAV's plane list) can end the process with SIGSEGV, which no ``except`` catches, and the
shard job dies with every other trailer's work. :class:`IsolatedWorker` runs the calls in
one long-lived child (a fresh interpreter started at the first call: about a second once
per shard, next to the seconds each trailer's sound takes), one call at a time. When the
child dies, the call in flight is redone alone in a fresh child; if that one dies too,
the trailer is reported as ``decoder_crash`` naming the signal, and the next call starts
a fresh child. The parent
never touches the file's native decoding, and the big arrays of the sound live and die in
the child (only the result comes back).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from moviegenre.features.decode import TrailerError

#: test-only: a call whose first argument is a path with this file name kills its child
#: with SIGSEGV, as a decoder crash does (tests/test_isolation.py)
CRASH_FOR_TESTS_ENV = "MOVIEGENRE_TEST_SEGFAULT_ON"


def _serve(requests: Connection, replies: Connection) -> None:
    """Child: run calls until the parent closes the pipe."""
    while True:
        try:
            func, args, kwargs, crash_on = requests.recv()
        except (EOFError, OSError):
            return
        if crash_on and args and isinstance(args[0], Path) and args[0].name == crash_on:
            os.kill(os.getpid(), signal.SIGSEGV)
        try:
            reply = ("ok", func(*args, **kwargs), None)
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
            reply = ("error", exc, dict(vars(exc)))
        try:
            replies.send(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that does not pickle
            replies.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}"), {}))


class _Died(Exception):
    """The child ended while a call was in flight (exit code: negative = signal)."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(exitcode)
        self.exitcode = exitcode

    def describe(self) -> str:
        code = self.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with code {code}"


class IsolatedWorker:
    """Calls run in a child process, one at a time (thread-safe); see the module docstring.

    ``func`` and its arguments must pickle (a module-level function, paths, dicts); its
    result comes back by pipe, and its exceptions are raised here with their attributes.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> IsolatedWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, path: Path | str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)`` in the child; TrailerError ``decoder_crash`` naming
        ``path`` when it kills the child twice (the shared child, then a fresh one alone)."""
        with self._lock:
            try:
                return self._call(func, args, kwargs)
            except _Died:
                pass  # maybe an earlier call's damage: this trailer alone, in a fresh child
            try:
                return self._call(func, args, kwargs)
            except _Died as died:
                raise TrailerError(
                    path,
                    "decoder_crash",
                    f"the decoding process was {died.describe()} on this file (twice); "
                    "the other trailers are not affected",
                ) from None

    def _start(self) -> None:
        # a fresh interpreter (``python -m`` this module), not multiprocessing's fork (the
        # parent may hold threads, e.g. TensorFlow's, whose locks a fork copies mid-use)
        # nor its spawn (which re-runs the parent's main script: Snakemake's script files
        # have no ``__main__`` guard)
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(request_read), str(reply_write)],
                pass_fds=(request_read, reply_write),
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else None,
                env=env,
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        self._requests = Connection(request_write, readable=False)
        self._replies = Connection(reply_read, writable=False)

    def _call(self, func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            self._start()
        try:
            crash_on = os.environ.get(CRASH_FOR_TESTS_ENV)  # read per call: tests set it late
            self._requests.send((func, args, kwargs, crash_on))
            kind, value, attributes = self._replies.recv()
        except (EOFError, OSError):
            exitcode = self._stop()
            raise _Died(exitcode) from None
        if kind == "error":
            for name, attribute in (attributes or {}).items():
                setattr(value, name, attribute)  # e.g. TrailerError.duration_s
            raise value
        return value

    def _stop(self) -> int | None:
        """Close the pipes and wait for the child; its exit code (None if none ran)."""
        for connection in (self._requests, self._replies):
            if connection is not None:
                connection.close()
        exitcode = None
        if self._process is not None:
            try:
                exitcode = self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                exitcode = self._process.wait()
        self._process = self._requests = self._replies = None
        return exitcode

    def close(self) -> None:
        """End the child (it also ends by itself when this process goes away)."""
        with self._lock:
            self._stop()


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


if __name__ == "__main__":  # the child: python -m moviegenre.features.isolation IN OUT
    _serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
