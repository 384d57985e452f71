"""Which instants of a trailer become frames (docs/method.md, "Visual features").

The seed samples 1 frame per second from 5 s to 120 s (116 frames). A trailer of
120 s or less still gets 116 frames from 5 s on, at a step of (duration - 2) / 120
seconds; the last of those can fall past the end, and we clamp them to the last
decodable instant instead of dropping frames, so every trailer yields the same count.
The seed computes that step in whole milliseconds (truncated); ``step_ms="integer"``
reproduces it, ``"exact"`` (the default) keeps the exact step.
"""

from __future__ import annotations

import numpy as np

#: how far before the container's end a clamped timestamp is put, so that it still
#: lies inside the last frame's display interval (a frame lasts >= 1/120 s in practice)
END_MARGIN_S = 1e-3
#: values of ``frames.step_ms``
STEP_MODES = ("exact", "integer")


def frame_timestamps(
    duration_s: float,
    start_s: float = 5.0,
    end_s: float = 120.0,
    count: int = 116,
    step_ms: str = "exact",
) -> np.ndarray:
    """Target times in seconds (float64 [count], non-decreasing) for a trailer of ``duration_s``.

    Long trailers (``duration_s > end_s``): ``start_s + arange(count) * 1.0``.
    Otherwise: ``step = (duration_s - 2) / end_s`` and ``start_s + arange(count) * step``,
    clamped to ``duration_s - END_MARGIN_S`` (the decoder then returns the last frame
    for those). With ``step_ms="integer"`` that step is truncated to whole milliseconds
    first, as the seed does. Raises ValueError when ``duration_s <= start_s``: nothing
    to sample, the caller reports the trailer as too short.
    """
    if step_ms not in STEP_MODES:
        raise ValueError(f"step_ms must be one of {STEP_MODES}, got {step_ms!r}")
    if not np.isfinite(duration_s) or duration_s <= start_s:
        raise ValueError(f"trailer too short: duration {duration_s:.3f} s <= start {start_s:.3f} s")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    index = np.arange(count, dtype=np.float64)
    if duration_s > end_s:
        return start_s + index * 1.0
    step = max((duration_s - 2.0) / end_s, 0.0)
    if step_ms == "integer":
        step = np.floor(step * 1000.0) / 1000.0
    times = start_s + index * step
    return np.minimum(times, duration_s - END_MARGIN_S)
