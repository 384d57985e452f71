"""Trailer-sized benchmark inputs: 1080p / 720p, 24 fps, x264 with B-frames, stereo AAC.

Real trailers are about 2.5 minutes of x264 at 1080p or 720p, with keyframes at scene
cuts (x264's default GOP of 250 plus scene-cut detection) and B-frames, and stereo AAC
at 44.1 or 48 kHz. The tiny 320x180 clips of the older benchmarks decode 30x faster
than that, so the decoding comparisons are made on files like these.

Files are written with PyAV (no ffmpeg binary) into ``benchmarks/.cache/`` (gitignored)
under a name that spells every setting, so a rerun reuses them. Encoding 1080p on two
cores is the slow part: preset ``veryfast`` keeps x264's defaults for B-frames (3,
adaptive, pyramid) and its GOP (keyint 250) but encodes several times faster than
``medium``. The content is a panned, grainy texture with a cut to a new scene every
1.5-4 s (trailers cut fast), a moving box, and a tone per scene on the sound track.
x264's own scene-cut detection did not fire on this blocky synthetic texture (its
lookahead found the cuts no costlier than a pan), so the first frame of every scene is
handed to the encoder as a forced keyframe (``pict_type`` I): the same GOP structure
as scene-cut keyframes give on real footage.
"""

from __future__ import annotations

import itertools
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"
FPS = 24
SAMPLE_RATE = 48000
SIZES = {"1080p": (1920, 1080), "720p": (1280, 720), "180p": (320, 180)}  # 180p: --quick


def cut_times(duration_s: float, seed: int = 0) -> np.ndarray:
    """Scene starts in seconds: 0, then every 1.5-4 s (a fast-cut trailer)."""
    rng = np.random.default_rng(seed)
    cuts = [0.0]
    while cuts[-1] < duration_s:
        cuts.append(cuts[-1] + float(rng.uniform(1.5, 4.0)))
    return np.array(cuts[:-1])


def _scene_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth luma texture larger than the frame (to pan over), 16x16 blocks upsampled."""
    coarse = rng.integers(24, 232, size=(height // 16 + 4, (width + 960) // 16), dtype=np.uint8)
    return np.repeat(np.repeat(coarse, 16, axis=0), 16, axis=1)


def _yuv_frames(width: int, height: int, duration_s: float, seed: int):
    """yuv420p pictures as [height * 3 / 2, width] arrays (no RGB conversion to pay)."""
    rng = np.random.default_rng(seed)
    n_frames = int(round(duration_s * FPS))
    scene_of = np.searchsorted(cut_times(duration_s, seed), np.arange(n_frames) / FPS, "right") - 1
    grain = [rng.integers(-5, 6, size=(height, width), dtype=np.int16) for _ in range(5)]
    quarter = (height // 2) * (width // 2)
    texture = chroma = None
    current = -1
    for i in range(n_frames):
        if scene_of[i] != current:
            current = scene_of[i]
            texture = _scene_texture(rng, width, height)
            chroma = rng.integers(64, 192, size=2)
            speed = int(rng.integers(2, 9))
            start = i
        dx = ((i - start) * speed) % (texture.shape[1] - width)
        luma = texture[:height, dx : dx + width].astype(np.int16) + grain[i % len(grain)]
        box = ((i - start) * 11) % (width - 200)
        luma[height // 3 : height // 3 + 160, box : box + 200] = 230 - 7 * (current % 20)
        picture = np.empty((height * 3 // 2, width), dtype=np.uint8)
        picture[:height] = np.clip(luma, 16, 235)
        flat = picture.reshape(-1)  # Y plane, then U and V planes of a quarter each
        flat[height * width : height * width + quarter] = chroma[0]
        flat[height * width + quarter :] = chroma[1]
        yield picture


def _stereo_tone(duration_s: float, seed: int) -> np.ndarray:
    """Planar float32 [2, samples]: a tone per scene plus noise, channels slightly apart."""
    rng = np.random.default_rng(seed + 1)
    n = int(round(duration_s * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    scene = np.searchsorted(cut_times(duration_s, seed), t, "right") - 1
    freq = 110.0 * (1 + (scene % 7))
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    mono = 0.25 * np.sin(phase) + 0.03 * rng.standard_normal(n)
    return np.stack([mono, 0.8 * mono]).astype(np.float32)


def write_trailer(path: Path, size: tuple[int, int], duration_s: float, seed: int = 0) -> Path:
    """One trailer-like mp4 (see the module docstring); written to a temporary name first."""
    width, height = size
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with av.open(str(partial), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        # x264 defaults for GOP (keyint 250, scenecut 40) and B-frames (3, pyramid)
        video.options = {"preset": "veryfast", "crf": "21"}
        audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        audio.bit_rate = 128000
        cuts = set(np.ceil(cut_times(duration_s, seed) * FPS).astype(int).tolist())
        for i, picture in enumerate(_yuv_frames(width, height, duration_s, seed)):
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            if i in cuts:  # a keyframe at each cut, as x264's scene-cut detection makes
                frame.pict_type = av.video.frame.PictureType.I
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        sound = _stereo_tone(duration_s, seed)
        step = 1024
        for start in range(0, sound.shape[1], step):
            chunk = np.ascontiguousarray(sound[:, start : start + step])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            frame.time_base = Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    partial.replace(path)
    return path


def trailer(resolution: str = "1080p", duration_s: float = 150.0, seed: int = 0) -> Path:
    """The cached trailer for these settings, written on first use."""
    width, height = SIZES[resolution]
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"trailer-{width}x{height}-{duration_s:g}s-{FPS}fps-seed{seed}.mp4"
    if not path.exists():
        write_trailer(path, (width, height), duration_s, seed)
    return path


def describe(path: Path) -> str:
    """Size, keyframes and B-frames of a trailer: shows it is what the benchmark claims."""
    keyframes = packets = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size:
                packets += 1
                keyframes += bool(packet.is_keyframe)
        duration = container.duration / av.time_base
    with av.open(str(path)) as container:
        frames = itertools.islice(container.decode(video=0), 96)  # the first 4 s
        kinds = [int(f.pict_type) for f in frames]
    b_share = kinds.count(3) / max(len(kinds), 1)  # AV_PICTURE_TYPE_B
    return (
        f"{path.name}: {duration:.0f} s, {packets} frames, {keyframes} keyframes, "
        f"{100 * b_share:.0f} % B-frames in the first 4 s, {path.stat().st_size / 1e6:.0f} MB"
    )
