"""The per-trailer feature API the shard jobs and `predict` share.

decode_ahead: results in order, each decode's error at its own item, decoding really
ahead of the consumer yet never more than threads + 1 trailers at a time.
"""

from __future__ import annotations

import threading
import time

import pytest

from moviegenre.features.decode import TrailerError
from moviegenre.features.trailer import decode_ahead, failure


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_decode_ahead_in_order_bounded_and_ahead(threads: int) -> None:
    started: list[int] = []
    lock = threading.Lock()

    def decode(item: int) -> int:
        with lock:
            started.append(item)
        if item == 3:
            raise ValueError("bad file")
        return item * 10

    seen, errors = [], []
    for consumed, (item, future) in enumerate(decode_ahead(range(8), decode, threads)):
        # the decodes of the next trailers run while this one is worked on ...
        deadline = time.monotonic() + 5
        ahead = min(consumed + threads + 1, 8)
        while len(started) < ahead and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(started) == ahead  # ... and no more than threads + 1 are in memory
        try:
            seen.append((item, future.result()))
        except ValueError as exc:
            errors.append((item, str(exc)))
    assert seen == [(i, i * 10) for i in range(8) if i != 3]
    assert errors == [(3, "bad file")]


def test_failure_reasons() -> None:
    assert failure(TrailerError("a.mp4", "too_short", "3 s")) == ("too_short", "3 s")
    assert failure(OSError("boom")) == ("decode_error", "OSError: boom")
