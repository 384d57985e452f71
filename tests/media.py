"""Tiny synthetic test videos written with PyAV, shared by the test modules.

Every picture encodes its own frame index as a grid of black/white cells, so a
test can tell exactly which frame a decoder picked, whatever size it was scaled
to (the cells are large and read at their centres). Layout of the grid, 2 rows
x 8 columns, read on the upright picture:

    row 0: [1, b0, b1, b2, b3, b4, b5, b6]
    row 1: [b7, b8, b9, b10, b11, b12, b13, 0]

The fixed white cell at the top left and black cell at the bottom right make a
picture read upside down or sideways fail loudly instead of giving a wrong index.
14 bits: up to 16,384 frames (over 10 minutes at 25 fps).

The sound is a tone whose pitch steps every second (so MFCCs change over time)
plus a little noise, or exact zeros when ``silent=True``.

Odd timing: write_vfr_video shows the frames at uneven times (vfr_times), and
write_late_audio_video starts the sound long after the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GRID_ROWS = 2
GRID_COLS = 8
INDEX_BITS = GRID_ROWS * GRID_COLS - 2
WHITE = 235
BLACK = 16

# container extension -> (video codec, audio codec), all present in PyAV's wheels
DEFAULT_CODECS: dict[str, tuple[str, str]] = {
    ".mp4": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "aac"),
    ".webm": ("libvpx", "libopus"),
    ".avi": ("mpeg4", "pcm_s16le"),
}


def frame_pattern(index: int, size: tuple[int, int]) -> np.ndarray:
    """The upright RGB picture of frame ``index``; ``size`` is (width, height)."""
    if not 0 <= index < 2**INDEX_BITS:
        raise ValueError(f"frame index {index} does not fit in {INDEX_BITS} bits")
    width, height = size
    bits = [1] + [(index >> b) & 1 for b in range(INDEX_BITS)] + [0]
    cells = np.array(bits, dtype=np.uint8).reshape(GRID_ROWS, GRID_COLS)
    rows = (np.arange(height) * GRID_ROWS) // height
    cols = (np.arange(width) * GRID_COLS) // width
    grey = np.where(cells[rows][:, cols] == 1, WHITE, BLACK).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def read_frame_index(image: np.ndarray) -> int:
    """Frame index encoded by :func:`frame_pattern` in an upright RGB/grey picture.

    Raises ValueError when the marker cells are wrong (picture rotated or not ours).
    """
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    height, width = grey.shape
    bits = []
    for r in range(GRID_ROWS):
        for c in range(GRID_COLS):
            y = int((r + 0.5) * height / GRID_ROWS)
            x = int((c + 0.5) * width / GRID_COLS)
            bits.append(1 if grey[y, x] > (WHITE + BLACK) / 2 else 0)
    if bits[0] != 1 or bits[-1] != 0:
        raise ValueError(f"marker cells wrong (rotated or foreign picture): {bits}")
    return sum(bit << i for i, bit in enumerate(bits[1:-1]))


def expected_frame_index(t: float, fps: float, n_frames: int) -> int:
    """Index a decoder following the nearest-frame rule should pick at time ``t``."""
    return int(min(max(np.ceil(t * fps - 0.5 - 1e-9), 0), n_frames - 1))


def tone(
    duration_s: float,
    sample_rate: int,
    channels: int = 1,
    seed: int = 0,
    gains: Sequence[float] | None = None,
) -> np.ndarray:
    """Planar float32 [channels, samples] tone stepping in pitch every second, plus noise.

    Channel c is the mono tone times ``gains[c]`` (default: from 1.0 down to 0.6, so a
    downmix is not a no-op; gains averaging 1 make a layout whose channel mean is mono).
    """
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    freq = 220.0 * (1 + (np.floor(t) % 5))
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    rng = np.random.default_rng(seed)
    mono = 0.3 * np.sin(phase) + 0.02 * rng.standard_normal(n)
    levels = np.linspace(1.0, 0.6, channels) if gains is None else np.asarray(gains, float)
    if levels.shape != (channels,):
        raise ValueError(f"{channels} channels need {channels} gains, got {gains}")
    return (mono[None, :] * levels[:, None]).astype(np.float32)


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1"}.get(channels, f"{channels}c")


def _encoder_rate(codec: str, sample_rate: int) -> int:
    rates = av.Codec(codec, "w").audio_rates
    if not rates or sample_rate in rates:
        return sample_rate
    higher = [r for r in rates if r >= sample_rate]
    return min(higher) if higher else max(rates)


def write_test_video(
    path: Path | str,
    duration_s: float,
    fps: int = 8,
    size: tuple[int, int] = (64, 48),
    audio: bool = True,
    sample_rate: int = 22050,
    channels: int = 1,
    silent: bool = False,
    video: bool = True,
    video_codec: str | None = None,
    audio_codec: str | None = None,
    rotation: int = 0,
    gop: int | None = None,
    faststart: bool = False,
    gains: Sequence[float] | None = None,
    signal: np.ndarray | None = None,
) -> Path:
    """Write a small video whose frames encode their index (see module docstring).

    The container follows the extension (.mp4 .mov .mkv .webm .avi); codecs default
    to :data:`DEFAULT_CODECS`. ``size`` is the displayed (width, height). With
    ``rotation`` (counter-clockwise degrees, multiple of 90, mp4/mov) the pictures
    are stored turned the other way and the stream carries a display matrix, as a
    phone does, so a decoder that honours it shows :func:`frame_pattern` upright.
    When the audio encoder cannot take ``sample_rate`` (Opus: 8/12/16/24/48 kHz),
    the next supported rate up is used. ``gains``: per-channel levels of the tone
    (see :func:`tone`). ``signal``: planar float32 [channels, samples] at ``sample_rate``
    to encode instead of the tone. Returns the path.
    """
    path = Path(path)
    ext = path.suffix.lower()
    vcodec_default, acodec_default = DEFAULT_CODECS.get(ext, DEFAULT_CODECS[".mp4"])
    vcodec = video_codec or vcodec_default
    acodec = audio_codec or acodec_default
    if rotation % 90:
        raise ValueError("rotation must be a multiple of 90 degrees")
    turns = (rotation // 90) % 4
    width, height = size
    stored_w, stored_h = (height, width) if turns % 2 else (width, height)
    n_frames = int(round(duration_s * fps))

    with av.open(str(path), mode="w") as container:
        vstream = None
        if video:
            vstream = container.add_stream(vcodec, rate=fps)
            vstream.width, vstream.height = stored_w, stored_h
            vstream.pix_fmt = "yuv420p"
            options = {}
            if vcodec == "libx264":
                options = {"crf": "12", "preset": "veryfast"}
            elif vcodec in ("libvpx", "libvpx-vp9"):
                options = {"deadline": "realtime", "cpu-used": "8", "crf": "10"}
                vstream.bit_rate = 2_000_000
            else:
                vstream.bit_rate = 2_000_000
            if gop is not None:
                vstream.codec_context.gop_size = gop
                if vcodec == "libx264":
                    options["keyint_min"] = str(min(gop, 25))
            vstream.options = options
            if turns:
                vstream.set_display_rotation(rotation)
        astream = None
        rate = _encoder_rate(acodec, sample_rate)
        if audio:
            astream = container.add_stream(acodec, rate=rate, layout=_layout(channels))
        if faststart:
            container.options["movflags"] = "faststart"

        samples = None
        if astream is not None and signal is not None:
            samples = np.ascontiguousarray(signal, dtype=np.float32)
        elif astream is not None:
            samples = (
                np.zeros((channels, int(round(duration_s * rate))), dtype=np.float32)
                if silent
                else tone(duration_s, rate, channels, gains=gains)
            )
        audio_pos = 0
        chunk = max(1, rate // (fps if video else 10))

        def write_audio_until(t_end: float) -> None:
            nonlocal audio_pos
            assert samples is not None and astream is not None
            stop = min(samples.shape[1], int(round(t_end * rate)))
            while audio_pos < stop:
                end = min(stop, audio_pos + chunk)
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, audio_pos:end]),
                    format="fltp",
                    layout=_layout(channels),
                )
                frame.sample_rate = rate
                frame.pts = audio_pos
                frame.time_base = Fraction(1, rate)
                container.mux(astream.encode(frame))
                audio_pos = end

        if vstream is not None:
            for i in range(n_frames):
                stored = np.rot90(frame_pattern(i, size), k=-turns) if turns else None
                picture = stored if stored is not None else frame_pattern(i, size)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                container.mux(vstream.encode(frame))
                if astream is not None:
                    write_audio_until((i + 1) / fps)
            container.mux(vstream.encode(None))
        if astream is not None:
            write_audio_until(duration_s)
            container.mux(astream.encode(None))
    return path


def write_text_file(path: Path | str, text: str = "this is not a video\n") -> Path:
    """A non-media file (e.g. named .mp4) for error-path tests."""
    path = Path(path)
    path.write_text(text)
    return path


def truncate_file(src: Path | str, dst: Path | str, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (an interrupted download)."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def write_audio_file(
    path: Path | str,
    signal: np.ndarray,
    sample_rate: int,
    codec: str,
    layout: str,
    container_format: str | None = None,
) -> Path:
    """An audio-only file of ``signal`` (float32 [channels, samples]) with any layout.

    Frames go to the encoder packed (``flt``, one buffer): PyAV's planar frames cannot
    hold 8 channels or more (its plane list counts one too many), and the encoder
    converts to its own sample format.
    """
    path = Path(path)
    channels, n = signal.shape
    packed = np.ascontiguousarray(signal.T, dtype=np.float32)
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=sample_rate, layout=layout)
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(
                packed[start : start + 1024].reshape(1, -1), format="flt", layout=layout
            )
            frame.sample_rate = sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


#: seconds between the frames of write_vfr_video's videos, repeated
VFR_GAPS = (0.1, 0.6, 0.3, 0.2)


def vfr_times(duration_s: float = 8.6) -> np.ndarray:
    """Frame times of a variable-frame-rate video: VFR_GAPS repeated from 0 s to duration_s."""
    gaps = np.tile(VFR_GAPS, int(duration_s / sum(VFR_GAPS)) + 1)
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    return times[times < duration_s]


def write_vfr_video(path: Path, times: np.ndarray, size: tuple[int, int] = (64, 48)) -> Path:
    """Variable frame rate: frame i (its index drawn by frame_pattern) shown at times[i].

    The sound (a tone at 8 kHz) lasts as long as the last frame's time plus its gap.
    """
    rate = 8000
    duration = float(times[-1]) + VFR_GAPS[0]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"crf": "12", "preset": "veryfast"}
        sound = container.add_stream("aac", rate=rate, layout="mono")
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, size), format="rgb24")
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        samples = tone(duration, rate)
        for start in range(0, samples.shape[1], 1024):
            chunk = np.ascontiguousarray(samples[:, start : start + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))
    return path


def write_late_audio_video(path, audio_start_s: float, duration_s: float, rate: int = 22050):
    """Video from 0 s, its sound only from ``audio_start_s`` (Matroska keeps the times)."""
    sound = tone(duration_s - audio_start_s, rate, 1)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=2)
        video.width = video.height = 32
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=rate, layout="mono")
        for i in range(int(duration_s * 2)):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 2)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        start = int(audio_start_s * rate)
        for a in range(0, sound.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(sound[:, a : a + 1024]), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, start + a, Fraction(1, rate)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path
