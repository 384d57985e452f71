"""Backbone embedding across trailers: full batches for the network, features per trailer.

A trailer has 116 frames; embedded alone in batches of ``backbone.batch_size`` its last
batch is part empty (32: 32+32+32+20; 256: one batch under half full), which on a GPU
wastes most of each call. :func:`embed_across_trailers` packs the frames of consecutive
trailers into batches of exactly ``batch_size`` frames (only the very last batch is
padded) and hands each trailer's features back as soon as its last frame is embedded.

A frame's features do not depend on the frames it shares a call with: every call has the
same shape (Backbone.embed_batch pads), and the network treats each image of a batch on
its own (inference BatchNorm), so the features equal those of per-trailer batches
(tests/test_embedding.py).

Memory: at most ``batch_size`` frames wait for a batch, plus the trailers they belong
to; the generator pulls the next trailer only when the current batch needs frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TypeVar

import numpy as np

Key = TypeVar("Key")


class FrameEmbedder(Protocol):
    """What this module needs of a backbone (features/backbones.py's Backbone)."""

    dim: int

    def embed_batch(self, chunk: np.ndarray, batch_size: int) -> np.ndarray: ...


class _Pending:
    """A trailer whose frames are (partly) waiting for a batch, and its features so far."""

    __slots__ = ("key", "frames", "count", "features", "queued", "done")

    def __init__(self, key: Any, frames: np.ndarray, dim: int) -> None:
        self.key, self.frames, self.count = key, frames, len(frames)
        self.features = np.empty((len(frames), dim), dtype=np.float16)
        self.queued = 0  # frames taken into a batch
        self.done = 0  # frames whose features are in


def embed_across_trailers(
    backbone: FrameEmbedder,
    items: Iterable[tuple[Key, np.ndarray]],
    batch_size: int,
) -> Iterator[tuple[Key, np.ndarray]]:
    """(key, float16 features [n, dim]) for each (key, uint8 frames [n, H, W, 3]), in order.

    Frames of several trailers share a network call of ``batch_size`` frames; a trailer
    is yielded once all its frames are embedded. ``items`` is consumed lazily.
    """
    batch_size = max(1, int(batch_size))
    pending: deque[_Pending] = deque()  # trailers not yet yielded, in input order
    waiting = 0  # frames of `pending` not yet taken into a batch

    def run_batch() -> None:
        """Embed the next min(batch_size, waiting) frames, in input order."""
        nonlocal waiting
        parts, owners = [], []
        room = batch_size
        for entry in pending:
            if room == 0:
                break
            take = min(room, entry.count - entry.queued)
            if take:
                parts.append(entry.frames[entry.queued : entry.queued + take])
                owners.append((entry, entry.queued, take))
                entry.queued += take
                room -= take
        chunk = parts[0] if len(parts) == 1 else np.concatenate(parts)
        features = backbone.embed_batch(chunk, batch_size)
        waiting -= len(chunk)
        offset = 0
        for entry, start, take in owners:
            entry.features[start : start + take] = features[offset : offset + take]
            entry.done += take
            offset += take
            if entry.done == entry.count:
                entry.frames = None  # the frames are no longer needed

    def finished() -> Iterator[tuple[Key, np.ndarray]]:
        while pending and pending[0].done == pending[0].count:
            entry = pending.popleft()
            yield entry.key, entry.features

    for key, frames in items:
        pending.append(_Pending(key, frames, backbone.dim))
        waiting += len(frames)
        while waiting >= batch_size:
            run_batch()
        yield from finished()
    while waiting:
        run_batch()
    yield from finished()
