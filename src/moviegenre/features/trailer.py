"""One trailer's features: the functions the shard jobs and `moviegenre predict` both call.

The extraction DAG (features/extract.py) and prediction take the frames and the sound of a
trailer through these same functions with the same parameters, so a trailer gets the same
inputs either way:

- :func:`decode_for_embedding`: the sampled RGB frames the backbone embeds;
- :func:`audio_features_for`: the 140-value audio vector;
- :func:`decode_ahead`: decoding of the next trailers in threads while the caller runs the
  network on the current one (bounded memory: a few trailers' frames at a time);
- :func:`failure`: the (reason, detail) a failed trailer is reported with.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from moviegenre.features.decode import MediaInfo, TrailerError, decode_frames, probe
from moviegenre.features.timestamps import frame_timestamps

#: a frame target or the sound may end this much before the file's declared end; beyond
#: it the file was cut short (e.g. an interrupted faststart download whose header promises
#: more than the data holds) and is reported as decode_error instead of silently clamped
MAX_OVERRUN_S = 2.0
#: the `frames` settings decode_for_embedding reads (the bundle records and checks them)
FRAMES_KEYS = ("start_s", "end_s", "count", "step_ms")
#: the `audio` settings audio_features_for reads
AUDIO_KEYS = ("sample_rate", "offset_s", "n_mfcc", "lpc_order", "pooling", "resampler")
#: every `audio` setting that shapes the values (max_seconds is absent from older bundles)
AUDIO_VALUE_KEYS = (*AUDIO_KEYS, "max_seconds")

Item = TypeVar("Item")
Decoded = TypeVar("Decoded")


def _too_short(path: Path, duration_s: float, min_duration_s: float, what: str) -> TrailerError:
    return TrailerError(
        path,
        "too_short",
        f"the trailer lasts {duration_s:.2f} s; at least {min_duration_s:g} s are needed ({what})",
        duration_s=duration_s,
    )


def _check_duration(path: Path, duration_s: float, min_duration_s: float, what: str) -> None:
    if duration_s < min_duration_s:
        raise _too_short(path, duration_s, min_duration_s, what)


def _with_stream(path: Path, info: MediaInfo | None, kind: str) -> MediaInfo:
    """The trailer's probe() (``info`` when the caller has it: a trailer is probed once);
    TrailerError ``no_<kind>_stream`` when it has no ``kind`` ("video"/"audio") stream."""
    info = probe(path) if info is None else info
    if not (info.has_video if kind == "video" else info.has_audio):
        raise TrailerError(path, f"no_{kind}_stream", f"the file has no {kind} stream")
    return info


def failure(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) of a trailer that failed: a TrailerError's own, else ``decode_error``."""
    if isinstance(exc, TrailerError):
        return exc.reason, exc.detail
    return "decode_error", f"{type(exc).__name__}: {exc}"


def decode_for_embedding(
    path: Path,
    frames_cfg: Mapping[str, Any],
    min_duration_s: float,
    info: MediaInfo | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """(timestamps, uint8 RGB frames [count, H, W, 3], duration) of one trailer.

    TrailerError (no video stream, too short, truncated, undecodable) when it is unusable.
    ``info``: the trailer's probe(), when the caller has it.
    """
    path = Path(path)
    info = _with_stream(path, info, "video")
    start = float(frames_cfg["start_s"])
    _check_duration(
        path, info.duration_s, max(min_duration_s, start), f"frames are taken from {start:g} s on"
    )
    try:
        stamps = frame_timestamps(
            info.duration_s,
            start,
            frames_cfg["end_s"],
            frames_cfg["count"],
            str(frames_cfg["step_ms"]),
        )
    except ValueError as exc:  # duration == start: nothing to sample
        raise _too_short(path, info.duration_s, start, str(exc)) from exc
    frames = decode_frames(path, stamps, max_overrun_s=MAX_OVERRUN_S)
    return stamps, frames, info.duration_s


def audio_features_for(
    path: Path,
    audio_cfg: Mapping[str, Any],
    min_duration_s: float | None = None,
    notes: dict | None = None,
    info: MediaInfo | None = None,
) -> tuple[np.ndarray, bool, float]:
    """The 140-value vector of one trailer, whether its sound is silent, and its duration.

    ``min_duration_s`` (extraction.min_duration_s) makes a trailer too short for its
    frames too short for its sound as well, so both modalities agree on it. ``notes``:
    see features.sound.decode_audio_native (late audio, stream used, limit reached).
    ``info``: the trailer's probe(), when the caller has it.
    """
    # imported here: the visual path never loads the sound code (see code_version.py)
    from moviegenre.features.audio import audio_vector, is_silent
    from moviegenre.features.sound import decode_audio

    path = Path(path)
    info = _with_stream(path, info, "audio")
    offset = float(audio_cfg["offset_s"])
    if min_duration_s is not None:
        _check_duration(
            path,
            info.duration_s,
            max(min_duration_s, offset),
            f"sound is taken from {offset:g} s on",
        )
    signal = decode_audio(
        path,
        int(audio_cfg["sample_rate"]),
        offset,
        resampler=str(audio_cfg["resampler"]),
        max_overrun_s=MAX_OVERRUN_S,
        max_seconds=audio_cfg.get("max_seconds"),  # None in bundles made before the limit
        notes=notes,
    )
    try:
        vector = audio_vector(
            signal,
            int(audio_cfg["sample_rate"]),
            n_mfcc=int(audio_cfg["n_mfcc"]),
            lpc_order=int(audio_cfg["lpc_order"]),
            pooling=str(audio_cfg["pooling"]),
        )
    except ValueError as exc:  # too little sound after the offset for the MFCC pooling
        raise TrailerError(
            path,
            "too_short",
            f"{exc} (the trailer lasts {info.duration_s:.2f} s)",
            duration_s=info.duration_s,
        ) from exc
    return vector, is_silent(signal), info.duration_s


def audio_features_noted(
    path: Path,
    audio_cfg: Mapping[str, Any],
    min_duration_s: float | None = None,
    info: MediaInfo | None = None,
) -> tuple[np.ndarray, bool, float, dict]:
    """:func:`audio_features_for` and its notes, as one picklable result (for an
    isolation.IsolatedWorker child; features.sound.audio_notes words them)."""
    notes: dict = {}
    return (*audio_features_for(path, audio_cfg, min_duration_s, notes, info), notes)


def decode_ahead(
    items: Iterable[Item],
    decode: Callable[[Item], Decoded],
    threads: int,
    name: str = "decode",
) -> Iterator[tuple[Item, Future[Decoded]]]:
    """(item, future of ``decode(item)``) in the order of ``items``, decoded ahead in threads.

    While the caller works on one item (``future.result()`` re-raises the decode's error),
    the next ``threads`` are decoding: ``threads + 1`` trailers at most are in memory, and
    the network never waits for a decode that could have started earlier.
    """
    threads = max(1, int(threads))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name) as pool:
        pending: deque[tuple[Item, Future[Decoded]]] = deque()
        for item in items:
            pending.append((item, pool.submit(decode, item)))
            if len(pending) > threads:
                yield pending.popleft()
        while pending:
            yield pending.popleft()
