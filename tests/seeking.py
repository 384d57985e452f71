"""The seed's frame decoder (seek once per timestamp): a cross-check for tests and the slow
baseline of benchmarks/bench_decode.py, kept out of the package that never calls it."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np

from moviegenre.features.decode import (
    _EPS,
    TrailerError,
    _as_targets,
    _check_size,
    _describe,
    _frame_rate,
    _rotation_deg,
    _to_rgb,
    _video_stream,
    open_container,
    origin_s,
)


def decode_frames_seeking(
    path: Path | str,
    timestamps: np.ndarray,
    size: tuple[int, int] = (224, 224),
) -> np.ndarray:
    """Same frames as :func:`decode_frames`, by seeking once per timestamp.

    The seed's approach (OpenCV ``CAP_PROP_POS_MSEC``).
    """
    path = Path(path)
    width, height = _check_size(size)
    targets = _as_targets(timestamps)
    out = np.empty((len(targets), height, width, 3), dtype=np.uint8)
    with open_container(path) as container:
        stream = _video_stream(container, path, 0)
        fps = _frame_rate(stream)
        half = 0.5 / fps if fps > 0 else 0.0
        origin = origin_s(container)
        time_base = stream.time_base
        try:
            for i, target in enumerate(targets):
                goal = max(target - half - _EPS, 0.0)
                container.seek(int(math.floor((goal + origin) / time_base)), stream=stream)
                picked = None
                for frame in container.decode(stream):
                    picked = frame
                    t = frame.time - origin if frame.time is not None else None
                    if t is not None and t >= goal:
                        break
                if picked is None:
                    raise TrailerError(path, "decode_error", f"no frame after seeking to {target}")
                out[i] = _to_rgb(picked, (width, height), _rotation_deg(picked, stream))
        except av.FFmpegError as exc:
            raise TrailerError(path, "decode_error", _describe(exc)) from exc
    return out
