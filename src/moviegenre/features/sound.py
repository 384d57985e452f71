"""Decode a trailer's sound the way the seed's ``librosa.load(path, offset=5)`` does.

docs/method.md, "Audio features": decode at the native rate, cut at the offset at that
rate, average the channels with equal weights (any layout), stop at the stream's declared
end (no encoder padding), then resample (``audio.resampler``). Kept apart from the frame
decoder (decode.py) so a change here re-extracts the audio shards only
(features/code_version.py).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from moviegenre.features.decode import TrailerError, _decoded, _open, _origin_s

#: sample formats FFmpeg decoders output, and the scale that maps them to [-1, 1]
#: (``librosa.load`` divides 16-bit PCM by 32,768 the same way)
_INT_SCALE = {
    "s16": 2.0**15,
    "s16p": 2.0**15,
    "s32": 2.0**31,
    "s32p": 2.0**31,
    "s64": 2.0**63,
    "s64p": 2.0**63,
}


def _channel_mean(frame: av.AudioFrame) -> np.ndarray:
    """One decoded frame as mono float64: the mean of its channels, equal weights.

    The seed's ``librosa.load`` averages the channels (0.5 (L + R) for stereo); FFmpeg's
    own downmix weights them (0.7071 (L + R), and a 5.1 matrix of its own), which makes
    the features depend on the channel layout instead of the sound.
    """
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    name = frame.format.name
    if not frame.format.is_planar:  # packed: [1, samples * channels], interleaved
        data = data.reshape(-1, channels).T
    samples = data.astype(np.float64)
    if name in _INT_SCALE:
        samples /= _INT_SCALE[name]
    elif name in ("u8", "u8p"):
        samples = (samples - 128.0) / 128.0
    return samples.mean(axis=0)


def decode_audio_native(
    path: Path | str,
    offset_s: float = 5.0,
    *,
    max_overrun_s: float | None = None,
) -> tuple[np.ndarray, int]:
    """The first audio track from ``offset_s`` on at its own rate: (mono float32, rate).

    The seed's chain (``librosa.load(offset=5)``, docs/method.md): decode at the native
    rate, cut at the offset at that rate, average the channels with equal weights, and
    stop at the stream's declared end, so the encoder's padding past it (AAC: up to a
    frame of 1,024 samples and more) is not sound. ``offset_s`` is measured from the
    container start; if the track starts later than that, the gap is filled with zeros
    so sound stays aligned with the frames. With ``max_overrun_s``, sound that stops more
    than that many seconds before the track's (else the file's) declared end is a
    truncated file, not a short trailer: ``decode_error``, as :func:`iter_frames_at` does.
    Raises TrailerError ``no_audio_stream``, ``too_short`` (nothing after ``offset_s``)
    or ``decode_error`` (also when the rate or channel count changes mid-stream).
    """
    path = Path(path)
    with _open(path) as container:
        if not container.streams.audio:
            raise TrailerError(path, "no_audio_stream", "no audio stream in the file")
        stream = container.streams.audio[0]
        origin = _origin_s(container)
        declared_end = _declared_end_s(container, stream, origin)
        stream_end = _stream_end_s(stream, origin)
        chunks: list[np.ndarray] = []
        first_time = None
        rate = channels = 0
        for frame in _decoded(container, stream, path):
            if first_time is None:
                first_time = frame.time - origin if frame.time is not None else 0.0
                rate, channels = int(frame.sample_rate), len(frame.layout.channels)
            elif (int(frame.sample_rate), len(frame.layout.channels)) != (rate, channels):
                raise TrailerError(
                    path,
                    "decode_error",
                    f"the sound changes from {channels} channels at {rate} Hz to "
                    f"{len(frame.layout.channels)} at {frame.sample_rate} Hz mid-stream",
                )
            chunks.append(_channel_mean(frame).astype(np.float32))
    if first_time is None or rate <= 0:
        raise TrailerError(path, "decode_error", "no audio frame could be decoded")
    y = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if stream_end is not None:  # drop the encoder's padding past the declared end
        y = y[: max(int(round((stream_end - first_time) * rate)), 0)]
    end_s = first_time + y.size / rate
    if (
        max_overrun_s is not None
        and declared_end is not None
        and declared_end - end_s > max_overrun_s
    ):
        raise TrailerError(
            path,
            "decode_error",
            f"sound ends at {end_s:.2f} s, {declared_end - end_s:.2f} s before the declared "
            f"end {declared_end:.2f} s (truncated?)",
        )
    skip = int(round((offset_s - first_time) * rate))
    if skip >= 0:
        y = y[skip:]
    else:
        y = np.concatenate([np.zeros(-skip, dtype=np.float32), y])
    if y.size == 0:
        raise TrailerError(
            path, "too_short", f"audio ends at {end_s:.2f} s, before the {offset_s:.2f} s offset"
        )
    return np.ascontiguousarray(y, dtype=np.float32), rate


def decode_audio(
    path: Path | str,
    sample_rate: int = 22050,
    offset_s: float = 5.0,
    *,
    resampler: str = "soxr_hq",
    max_overrun_s: float | None = None,
) -> np.ndarray:
    """The first audio track from ``offset_s`` on, as mono float32 at ``sample_rate``.

    :func:`decode_audio_native` (cut, channel mean, declared end at the native rate),
    then ``resampler`` (``audio.resampler``: soxr_hq, kaiser_best as the seed, swr),
    in that order as the seed's ``librosa.load`` does. Same errors as
    :func:`decode_audio_native`.
    """
    from moviegenre.features.resample import resample

    y, rate = decode_audio_native(path, offset_s, max_overrun_s=max_overrun_s)
    return resample(y, rate, int(sample_rate), resampler)


def _stream_end_s(stream, origin: float) -> float | None:
    """Where the audio stream's own header says it ends (seconds from the container start)."""
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        start = stream.start_time if stream.start_time is not None else 0
        return float((start + stream.duration) * stream.time_base) - origin
    return None


def _declared_end_s(container: av.container.InputContainer, stream, origin: float) -> float | None:
    """Where the header says a stream ends (seconds from the container start), if it says."""
    own = _stream_end_s(stream, origin)
    if own is not None:
        return own
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None
