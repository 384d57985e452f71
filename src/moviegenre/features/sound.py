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

from moviegenre.features.decode import (
    TrailerError,
    best_stream,
    decode_stream,
    open_container,
    origin_s,
    stream_choice,
)

#: the sound may start this much after the offset (encoder priming, muxing slack) before
#: the zeros put in front of it are flagged ``late_audio`` instead of passing silently
LATE_AUDIO_S = 1.0


class _ChannelMean:
    """Decoded frames as mono float64: the mean of their channels, equal weights.

    The seed's ``librosa.load`` averages the channels (0.5 (L + R) for stereo); FFmpeg's
    own downmix weights them (0.7071 (L + R), and a 5.1 matrix of its own), which makes
    the features depend on the channel layout instead of the sound. The frames are first
    converted, same layout and rate, to packed float64 by libswresample: one buffer per
    frame, so planar audio with 8 or more channels never goes through PyAV's plane list
    (which counts 9 planes for 8-channel planar audio and crashes ``to_ndarray``). The
    conversion is exact (integers are scaled by a power of two: s16 / 32,768 as
    ``librosa.load`` does, u8 as (x - 128) / 128), and the channels are summed in order,
    then divided: numpy's ``mean`` over the channel axis, value for value.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._channels = 0

    def _means(self, frames: list[av.AudioFrame]) -> list[np.ndarray]:
        out = []
        for frame in frames:
            packed = frame.to_ndarray().reshape(-1, self._channels)  # packed: one plane
            total = packed[:, 0].copy()
            for c in range(1, self._channels):
                total += packed[:, c]
            out.append(total / self._channels)
        return out

    def __call__(self, frame: av.AudioFrame) -> list[np.ndarray]:
        """The mono samples of ``frame`` (possibly split in several arrays)."""
        if self._resampler is None:
            self._channels = frame.layout.nb_channels
            self._resampler = av.AudioResampler(
                format="dbl", layout=frame.layout, rate=frame.sample_rate
            )
        return self._means(self._resampler.resample(frame))

    def flush(self) -> list[np.ndarray]:
        """Samples the converter still holds at the end of the stream."""
        return [] if self._resampler is None else self._means(self._resampler.resample(None))


class _Samples:
    """A growing float32 buffer: one copy of the sound in memory, not chunks plus their join."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(max(int(capacity), 1024), dtype=np.float32)
        self.size = 0

    def extend(self, chunk: np.ndarray) -> None:
        end = self.size + chunk.size
        if end > self._data.size:
            grown = np.empty(max(end, int(self._data.size * 1.5)), dtype=np.float32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = chunk
        self.size = end

    def array(self) -> np.ndarray:
        return self._data[: self.size]


def decode_audio_native(
    path: Path | str,
    offset_s: float = 5.0,
    *,
    max_overrun_s: float | None = None,
    max_seconds: float | None = None,
    notes: dict | None = None,
) -> tuple[np.ndarray, int]:
    """The audio track from ``offset_s`` on at its own rate: (mono float32, rate).

    The seed's chain (``librosa.load(offset=5)``, docs/method.md): decode at the native
    rate, cut at the offset at that rate, average the channels with equal weights, and
    stop at the stream's declared end, so the encoder's padding past it (AAC: up to a
    frame of 1,024 samples and more) is not sound. The track is the one FFmpeg picks as
    best (decode.best_stream). ``offset_s`` is measured from the container start; if the
    track starts later than that, the gap is filled with zeros so sound stays aligned
    with the frames (more than :data:`LATE_AUDIO_S` of it is noted as ``late_audio``).
    With ``max_seconds`` (``audio.max_seconds``) only that many seconds from the offset
    are kept and decoding stops there, so memory and time stop growing with the file:
    sound up to that length gives exactly what it gives without the limit. With
    ``max_overrun_s``, sound that stops more than that many seconds before the track's
    (else the file's) declared end is a truncated file, not a short trailer:
    ``decode_error``, as :func:`iter_frames_at` does. ``notes``, if given, receives
    ``audio_start_s``, ``padded_s``, ``late_audio`` (bool), ``stream`` (which stream was
    used when the file has several; else '') and ``cut_at_s`` (set when the limit cut).
    Raises TrailerError ``no_audio_stream``, ``too_short`` (nothing after ``offset_s``)
    or ``decode_error`` (also when the rate or channel count changes mid-stream).
    """
    path = Path(path)
    with open_container(path) as container:
        stream = best_stream(container, "audio")
        if stream is None:
            raise TrailerError(path, "no_audio_stream", "no audio stream in the file")
        choice = stream_choice(container, stream)
        origin = origin_s(container)
        declared_end = _declared_end_s(container, stream, origin)
        stream_end = _stream_end_s(stream, origin)
        stop_s = None if max_seconds is None else offset_s + max_seconds
        y, first_time, rate, stopped_early = _decode_mono(
            container, stream, path, origin, declared_end, stop_s
        )
    if stream_end is not None:  # drop the encoder's padding past the declared end
        y = y[: max(int(round((stream_end - first_time) * rate)), 0)]
    end_s = first_time + y.size / rate
    if (
        not stopped_early
        and max_overrun_s is not None
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
    cut_at = None
    if max_seconds is not None and y.size > int(round(max_seconds * rate)):
        y = y[: int(round(max_seconds * rate))]
        cut_at = offset_s + max_seconds
    if notes is not None:
        padded = max(-skip, 0) / rate
        notes.update(
            audio_start_s=first_time,
            padded_s=padded,
            late_audio=padded > LATE_AUDIO_S,
            stream=choice,
            cut_at_s=cut_at,
        )
    return np.ascontiguousarray(y, dtype=np.float32), rate


def _decode_mono(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    path: Path,
    origin: float,
    declared_end: float | None,
    stop_s: float | None,
) -> tuple[np.ndarray, float, int, bool]:
    """(mono samples, start time of the first, rate, stopped at ``stop_s``) of ``stream``.

    Decoding stops a second past ``stop_s`` (enough to cut there exactly); TrailerError
    ``decode_error`` when no frame decodes or the rate or channel count changes.
    """
    means = _ChannelMean()
    samples: _Samples | None = None
    first_time = None
    rate = channels = 0
    stopped_early = False
    try:
        for frame in decode_stream(container, stream, path):
            if first_time is None:
                first_time = frame.time - origin if frame.time is not None else 0.0
                rate, channels = int(frame.sample_rate), len(frame.layout.channels)
                samples = _Samples(_capacity(first_time, declared_end, stop_s, rate))
            elif (int(frame.sample_rate), len(frame.layout.channels)) != (rate, channels):
                raise TrailerError(
                    path,
                    "decode_error",
                    f"the sound changes from {channels} channels at {rate} Hz to "
                    f"{len(frame.layout.channels)} at {frame.sample_rate} Hz mid-stream",
                )
            for chunk in means(frame):
                samples.extend(chunk)
            if stop_s is not None and first_time + samples.size / rate > stop_s + 1.0:
                stopped_early = True  # a second past the limit: enough to cut exactly
                break
        if samples is not None:
            for chunk in means.flush():
                samples.extend(chunk)
    except ValueError as exc:  # the converter refuses a frame (layout changed)
        raise TrailerError(path, "decode_error", f"unexpected audio frame: {exc}") from exc
    if first_time is None or rate <= 0 or samples is None:
        raise TrailerError(path, "decode_error", "no audio frame could be decoded")
    return samples.array(), first_time, rate, stopped_early


def audio_notes(silent: bool, notes: dict) -> tuple[str, str]:
    """(flags, detail) of an ok audio row: ``silent``, ``late_audio``, ``cut`` (the
    ``audio.max_seconds`` limit applied) joined by ``;``, and the words for them."""
    flags, words = [], []
    if silent:
        flags.append("silent")
    if notes.get("late_audio"):
        flags.append("late_audio")
        words.append(
            f"sound starts at {notes['audio_start_s']:.2f} s: {notes['padded_s']:.2f} s of "
            "zeros put before it"
        )
    if notes.get("cut_at_s") is not None:
        flags.append("cut")
        words.append(f"sound used up to {notes['cut_at_s']:g} s (audio.max_seconds)")
    if notes.get("stream"):
        words.append(notes["stream"])
    return ";".join(flags), "; ".join(words)


def _capacity(
    first_time: float, declared_end: float | None, stop_s: float | None, rate: int
) -> int:
    """Samples to reserve: to the declared end or the limit (a second more), whichever is first."""
    ends = [e for e in (declared_end, None if stop_s is None else stop_s + 2.0) if e is not None]
    if not ends:
        return 60 * rate
    return int((max(min(ends) - first_time, 0.0) + 1.0) * rate)


def decode_audio(
    path: Path | str,
    sample_rate: int = 22050,
    offset_s: float = 5.0,
    *,
    resampler: str = "soxr_hq",
    max_overrun_s: float | None = None,
    max_seconds: float | None = None,
    notes: dict | None = None,
) -> np.ndarray:
    """The first audio track from ``offset_s`` on, as mono float32 at ``sample_rate``.

    :func:`decode_audio_native` (cut, channel mean, declared end at the native rate),
    then ``resampler`` (``audio.resampler``: soxr_hq, kaiser_best as the seed, swr),
    in that order as the seed's ``librosa.load`` does. ``max_seconds``, ``notes`` and the
    errors: as :func:`decode_audio_native`.
    """
    from moviegenre.features.resample import resample

    y, rate = decode_audio_native(
        path, offset_s, max_overrun_s=max_overrun_s, max_seconds=max_seconds, notes=notes
    )
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
