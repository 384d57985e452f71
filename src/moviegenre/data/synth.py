"""Built-in synthetic LMTD-style trailers, so the whole pipeline runs without the real data.

LMTD-9's videos and features are not downloaded by this project (README.md, "Using LMTD-9"),
so this module draws labels with LMTD-9's published statistics and renders, for each trailer, a real
H.264/AAC ``.mp4`` whose picture and sound depend on its genres (palette, brightness,
motion, cut rate; pitch, interval, tempo, loudness, noise) with per-trailer randomness, so a
model has something learnable but not trivial. Everything is deterministic for a seed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from scipy.signal import lfilter

from moviegenre.atomic import write_atomic
from moviegenre.data.label_writer import write_lmtd_db
from moviegenre.data.labels import trailer_key
from moviegenre.genres import GENRES_9

# LMTD-9's published figures (its database.db; totals and splits also in docs/method.md).
LMTD_TRAILERS = 4021
LMTD_GENRE_COUNTS: tuple[int, ...] = (856, 593, 1562, 659, 2032, 436, 651, 313, 693)
LMTD_GENRES_PER_TRAILER: tuple[int, ...] = (1264, 1740, 1017)  # trailers with 1, 2, 3 genres
LMTD_SPLIT_SIZES: tuple[int, ...] = (2874, 374, 773)  # train, valid, test

# Genre pairs that co-occur more (or less) often than chance, for realistic label mixes;
# quotas keep the marginal frequencies on LMTD-9's figures whatever these say.
_AFFINITY_PAIRS: dict[tuple[str, str], float] = {
    ("Action", "Adventure"): 4.0,
    ("Action", "SciFi"): 3.0,
    ("Adventure", "SciFi"): 3.0,
    ("Action", "Thriller"): 3.0,
    ("Action", "Crime"): 3.0,
    ("Crime", "Thriller"): 4.0,
    ("Crime", "Drama"): 3.0,
    ("Comedy", "Romance"): 4.0,
    ("Drama", "Romance"): 4.0,
    ("Horror", "Thriller"): 4.0,
    ("Comedy", "Horror"): 0.3,
    ("Romance", "Horror"): 0.2,
    ("Romance", "SciFi"): 0.3,
}

# Per-genre style: one row per genre in GENRES_9 order. A trailer mixes the rows of its genres.
_STYLE_FIELDS = (
    "hue",  # palette hue in [0, 1)
    "sat",  # palette saturation
    "value",  # brightness (Horror dark, Comedy bright)
    "motion",  # shape speed, frame widths per second
    "cuts",  # scene cuts per second (Action, Thriller fast)
    "grain",  # film grain amplitude
    "flicker",  # random per-frame dimming
    "scan",  # scanline strength (SciFi)
    "pitch",  # base pitch, Hz
    "interval",  # frequency ratio of the second voice (1.06 dissonant ... 1.5 fifth)
    "bpm",  # beat tempo
    "beat",  # beat strength
    "loud",  # peak loudness
    "noise",  # noise amount
)
_STYLE_TABLE = np.array(
    [
        # hue  sat   val   mot   cuts  grain flick scan pitch int   bpm  beat loud  noise
        [0.00, 0.85, 0.60, 0.90, 1.20, 0.03, 0.00, 0.0, 110, 1.50, 150, 1.0, 0.90, 0.45],  # Action
        [0.30, 0.75, 0.65, 0.60, 0.50, 0.02, 0.00, 0.0, 196, 1.50, 110, 0.6, 0.70, 0.15],  # Adv.
        [0.15, 0.85, 0.90, 0.50, 0.40, 0.01, 0.00, 0.0, 392, 1.26, 125, 0.5, 0.60, 0.05],  # Comedy
        [0.62, 0.45, 0.45, 0.35, 0.50, 0.04, 0.00, 0.0, 147, 1.19, 95, 0.5, 0.55, 0.20],  # Crime
        [0.08, 0.30, 0.55, 0.15, 0.20, 0.02, 0.00, 0.0, 220, 1.19, 60, 0.2, 0.40, 0.05],  # Drama
        [0.75, 0.60, 0.15, 0.25, 0.35, 0.08, 0.45, 0.0, 65, 1.06, 50, 0.4, 0.50, 0.60],  # Horror
        [0.92, 0.55, 0.75, 0.12, 0.20, 0.01, 0.00, 0.0, 330, 1.26, 70, 0.2, 0.35, 0.02],  # Romance
        [0.50, 0.80, 0.50, 0.70, 0.60, 0.02, 0.00, 0.4, 523, 1.41, 100, 0.6, 0.60, 0.30],  # SciFi
        [0.68, 0.55, 0.30, 0.50, 1.00, 0.05, 0.15, 0.0, 98, 1.06, 130, 0.8, 0.65, 0.35],  # Thrill.
    ],
    dtype=np.float64,
)
_STYLE = {name: _STYLE_TABLE[:, k] for k, name in enumerate(_STYLE_FIELDS)}

_MAX_SHAPES = 4
_SCENE_PITCH_STEPS = np.array([1.0, 9 / 8, 6 / 5, 4 / 3, 3 / 2, 5 / 3])
_AUDIO_CHUNK = 1024  # the AAC encoder's frame size


@dataclass(frozen=True)
class SynthConfig:
    """Size and seed of the synthetic data set (params.yaml ``synth``)."""

    seed: int = 7
    count: int = 240
    duration_s: float = 16.0
    width: int = 160
    height: int = 96
    fps: int = 8
    sample_rate: int = 22050

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"synth count must be >= 1, got {self.count}")
        if self.duration_s <= 0:
            raise ValueError(f"synth duration_s must be > 0, got {self.duration_s}")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(
                f"synth width and height must be even and >= 16 (yuv420p), "
                f"got {self.width}x{self.height}"
            )
        if self.fps < 1 or self.sample_rate < 8000:
            raise ValueError(
                f"synth fps must be >= 1 and sample_rate >= 8000, "
                f"got {self.fps} and {self.sample_rate}"
            )


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers summing to ``total`` in proportion to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=np.float64)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _affinity() -> np.ndarray:
    matrix = np.ones((len(GENRES_9), len(GENRES_9)))
    for (a, b), factor in _AFFINITY_PAIRS.items():
        i, j = GENRES_9.index(a), GENRES_9.index(b)
        matrix[i, j] = matrix[j, i] = factor
    return matrix


def _draw_genres(n_genres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multi-hot labels with ``n_genres[i]`` genres each and LMTD-9's genre frequencies.

    Each genre has a quota (its share of all genre assignments); picks are weighted by the
    quota left, so the marginals land on target while the co-occurrence stays random.
    """
    count = len(n_genres)
    labels = np.zeros((count, len(GENRES_9)), dtype=np.uint8)
    remaining = _apportion(int(n_genres.sum()), np.array(LMTD_GENRE_COUNTS)).astype(np.float64)
    affinity = _affinity()
    # Trailers with three genres first: they are the hardest to fit once quotas run low.
    for i in np.argsort(-n_genres, kind="stable"):
        weights = np.ones(len(GENRES_9))
        for _ in range(int(n_genres[i])):
            p = (np.maximum(remaining, 0.0) + 0.05) * weights
            p[labels[i] == 1] = 0.0
            g = int(rng.choice(len(GENRES_9), p=p / p.sum()))
            labels[i, g] = 1
            remaining[g] -= 1
            weights = weights * affinity[g]
    return labels


def _stratified_splits(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split sizes in LMTD-9's proportions, every genre spread over all three splits.

    Iterative stratification (Sechidis et al., 2011): rarest genre first, each of its
    trailers goes to the split that still wants that genre most. Valid and test want at
    least a few of every genre, so rare genres (Sci-Fi, Horror) reach them even for small
    data sets.
    """
    count = len(labels)
    sizes = _apportion(count, np.array(LMTD_SPLIT_SIZES))
    fractions = sizes / count
    totals = labels.sum(axis=0).astype(np.float64)
    floor = np.minimum(3.0, np.floor(totals / 3.0))
    desire = np.maximum(fractions[:, None] * totals[None, :], floor[None, :])
    capacity = sizes.astype(np.int64)
    splits = np.full(count, -1, dtype=np.int8)
    while (splits < 0).any():
        unassigned = splits < 0
        left = labels[unassigned].sum(axis=0).astype(np.float64)
        left[left == 0] = np.inf
        g = int(np.argmin(left))
        members = np.flatnonzero(unassigned & (labels[:, g] == 1))
        for i in rng.permutation(members):
            open_splits = np.flatnonzero(capacity > 0)
            score = desire[open_splits, g]
            best = open_splits[score == score.max()]
            best = best[capacity[best] == capacity[best].max()]
            s = int(rng.choice(best))
            splits[i] = s
            capacity[s] -= 1
            desire[s] -= labels[i]
    return splits


def sample_labels(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, splits and 9-genre labels with LMTD-9's statistics, deterministic for a seed.

    Returns ``(ids, splits, labels9)``: ids int64 from 1, splits int8 (0 train, 1 valid,
    2 test), labels uint8 [count, 9] with 1 to 3 genres per trailer.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    rng = np.random.default_rng(seed)
    n_genres = np.repeat([1, 2, 3], _apportion(count, np.array(LMTD_GENRES_PER_TRAILER)))
    n_genres = rng.permutation(n_genres)
    labels = _draw_genres(n_genres, rng)
    splits = _stratified_splits(labels, rng)
    ids = np.arange(1, count + 1, dtype=np.int64)
    return ids, splits, labels


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB in [0, 1]; output has a trailing axis of 3."""
    h, s, v = (np.asarray(x, dtype=np.float64)[..., None] for x in (h, s, v))
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _reflect(u: np.ndarray, length: float) -> np.ndarray:
    """Positions bouncing inside [0, length]."""
    return length - np.abs(np.mod(u, 2.0 * length) - length)


@dataclass(frozen=True)
class _Plan:
    """What a trailer shows and plays: its mixed style and its scenes."""

    genres: np.ndarray  # indices of the trailer's genres
    weights: np.ndarray  # their mixing weights
    style: dict[str, float]
    scene_starts: np.ndarray  # seconds, first is 0


def _plan(genres: np.ndarray, config: SynthConfig, rng: np.random.Generator) -> _Plan:
    active = np.flatnonzero(np.asarray(genres).reshape(-1)[: len(GENRES_9)])
    if len(active) == 0:  # unlabelled: a bland mix of everything
        active = np.arange(len(GENRES_9))
    weights = rng.dirichlet(np.full(len(active), 3.0))
    style = {
        name: float(weights @ table[active]) * float(np.exp(rng.normal(0.0, 0.12)))
        for name, table in _STYLE.items()
    }
    gaps = []
    elapsed = 0.0
    while elapsed < config.duration_s:
        gap = max(0.4, float(rng.exponential(1.0 / max(style["cuts"], 0.05))))
        gaps.append(gap)
        elapsed += gap
    scene_starts = np.concatenate([[0.0], np.cumsum(gaps)[:-1]])
    return _Plan(genres=active, weights=weights, style=style, scene_starts=scene_starts)


def _render_video(plan: _Plan, config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Frames [T, H, W, 3] uint8: coloured backgrounds, bouncing shapes, grain, flicker."""
    width, height, style = config.width, config.height, plan.style
    n_frames = max(1, round(config.duration_s * config.fps))
    n_scenes = len(plan.scene_starts)
    t = np.arange(n_frames) / config.fps
    scene = np.searchsorted(plan.scene_starts, t, side="right") - 1
    tau = (t - plan.scene_starts[scene])[:, None]  # seconds into the scene, [T, 1]

    # Per scene: a genre of the trailer picks the palette; brightness varies around the mix.
    pick = rng.choice(plan.genres, size=n_scenes, p=plan.weights)
    hue = (_STYLE["hue"][pick] + rng.normal(0.0, 0.03, n_scenes)) % 1.0
    sat = np.clip(_STYLE["sat"][pick] * np.exp(rng.normal(0.0, 0.15, n_scenes)), 0.0, 1.0)
    stray = rng.random(n_scenes) < 0.15  # some scenes ignore the genre palette: a harder task
    hue = np.where(stray, rng.random(n_scenes), hue)
    val = np.clip(style["value"] * np.exp(rng.normal(0.0, 0.2, n_scenes)), 0.03, 1.0)
    background = _hsv_to_rgb(hue, sat, val)  # [S, 3]
    angle = rng.uniform(0.0, 2.0 * np.pi, n_scenes)
    slope = rng.uniform(0.0, 0.8, n_scenes)

    # Per scene and shape: colour from a (possibly other) genre of the trailer, contrasting.
    shape_pick = rng.choice(plan.genres, size=(n_scenes, _MAX_SHAPES), p=plan.weights)
    shape_val = np.clip(val[:, None] + rng.choice([-0.4, 0.4], (n_scenes, _MAX_SHAPES)), 0.05, 1)
    shape_rgb = _hsv_to_rgb(_STYLE["hue"][shape_pick], _STYLE["sat"][shape_pick], shape_val)
    shown = np.arange(_MAX_SHAPES)[None, :] < rng.integers(1, _MAX_SHAPES + 1, n_scenes)[:, None]
    square = rng.random((n_scenes, _MAX_SHAPES)) < 0.5
    radius = rng.uniform(0.08, 0.22, (n_scenes, _MAX_SHAPES)) * height
    start_x = rng.uniform(0.0, width, (n_scenes, _MAX_SHAPES))
    start_y = rng.uniform(0.0, height, (n_scenes, _MAX_SHAPES))
    speed = style["motion"] * width * np.exp(rng.normal(0.0, 0.3, (n_scenes, _MAX_SHAPES)))
    heading = rng.uniform(0.0, 2.0 * np.pi, (n_scenes, _MAX_SHAPES))
    cx = _reflect(start_x[scene] + speed[scene] * np.cos(heading[scene]) * tau, width)
    cy = _reflect(start_y[scene] + speed[scene] * np.sin(heading[scene]) * tau, height)

    # A layer map (0 background, k + 1 shape k, last drawn on top) and one colour lookup.
    # Masks come from [T, 1, W] and [T, H, 1] terms, so each shape costs few [T, H, W] passes;
    # a hidden shape has radius 0, a circle no box radius and a square no circle radius.
    f32 = np.float32
    xs = np.arange(width, dtype=f32)[None, None, :]
    ys = np.arange(height, dtype=f32)[None, :, None]
    radius = (radius * shown)[scene].astype(f32)
    box_r = np.where(square[scene], radius, f32(0.0))
    circle_r2 = np.where(square[scene], f32(0.0), radius * radius)
    layer = np.zeros((n_frames, height, width), dtype=np.uint8)
    for k in range(_MAX_SHAPES):
        dx = np.abs(xs - cx[:, k, None, None].astype(f32))
        dy = np.abs(ys - cy[:, k, None, None].astype(f32))
        inside = (dx * dx - circle_r2[:, k, None, None]) + dy * dy < 0.0
        inside |= (dx < box_r[:, k, None, None]) & (dy < box_r[:, k, None, None])
        np.putmask(layer, inside, k + 1)
    palette = np.concatenate([background[:, None, :], shape_rgb], axis=1)[scene]  # [T, K+1, 3]
    flat = layer.astype(np.intp) + ((_MAX_SHAPES + 1) * np.arange(n_frames))[:, None, None]
    frames = np.take((palette * 255.0).reshape(-1, 3).astype(f32), flat, axis=0)  # [T, H, W, 3]

    # Light falls off across the picture in a per-scene direction; scanlines and flicker
    # scale whole rows and frames.
    u = np.linspace(-0.5, 0.5, width, dtype=f32)[None, None, :]
    v = np.linspace(-0.5, 0.5, height, dtype=f32)[None, :, None]
    tilt_x = (slope * np.cos(angle))[scene, None, None].astype(f32)
    tilt_y = (slope * np.sin(angle))[scene, None, None].astype(f32)
    rows = 1.0 + tilt_y * v  # [T, H, 1]
    if style["scan"] > 0.01:  # drifting scanlines
        lines = ((ys + f32(6.0) * t[:, None, None].astype(f32)) % f32(4.0)) < f32(2.0)
        rows = rows * (f32(1.0) - f32(style["scan"]) * lines)
    if style["flicker"] > 0.01:
        dim = 1.0 - style["flicker"] * rng.random(n_frames) ** 2
        rows = rows * dim[:, None, None].astype(f32)
    gain = tilt_x * u * rows + rows  # (1 + tilt_x u + tilt_y v) up to a small cross term
    # Grain is a texture per scene (uniform, the style's std): static within a shot, it costs
    # little to encode, so the files stay small.
    texture = rng.random((n_scenes, height, width), dtype=f32)
    texture -= f32(0.5)
    texture *= f32(style["grain"] * 255.0 * np.sqrt(12.0))
    texture += f32(0.5)  # rounds on the cast below
    grain = texture[scene]
    frames *= gain[..., None]
    frames += grain[..., None]
    np.clip(frames, 0.0, 255.0, out=frames)
    return frames.astype(np.uint8)


def _render_audio(plan: _Plan, config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Mono float32 samples: two voices whose pitch steps at scene cuts, beats and noise."""
    sr, style = config.sample_rate, plan.style
    f32 = np.float32
    n = max(1, round(config.duration_s * sr))
    t = np.arange(n, dtype=f32) / f32(sr)
    starts = np.minimum(np.round(plan.scene_starts * sr).astype(np.int64), n)
    scene = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    steps = rng.choice(_SCENE_PITCH_STEPS, size=len(starts))
    vibrato = 1.0 + 0.01 * np.sin(f32(2.0 * np.pi * rng.uniform(3.0, 6.0)) * t)
    freq = (style["pitch"] * steps)[scene] * vibrato
    phase = np.cumsum(freq, dtype=np.float64) * (2.0 * np.pi / sr)  # float64: long sums
    sin1 = np.sin((phase % (2.0 * np.pi)).astype(f32))
    cos1 = np.cos((phase % (2.0 * np.pi)).astype(f32))
    # sin p + 0.5 sin 2p + 0.25 sin 3p, from sin p and cos p alone.
    voice = sin1 * (1.0 + cos1 + 0.75 - sin1 * sin1)
    voice += 0.6 * np.sin(((style["interval"] * phase) % (2.0 * np.pi)).astype(f32))
    swell_period, swell_phase = rng.uniform(4.0, 8.0), rng.uniform(0.0, 2.0 * np.pi)
    swell = 1.0 + 0.3 * np.sin(f32(2.0 * np.pi / swell_period) * t + f32(swell_phase))

    white = rng.standard_normal(n, dtype=f32)
    period = 60.0 / max(style["bpm"], 20.0)
    since_beat = np.mod(t + f32(rng.uniform(0.0, period)), f32(period))
    envelope = np.exp(since_beat * f32(-1.0 / 0.06))
    kick = np.sin(f32(2.0 * np.pi * 55.0) * since_beat)
    beat = f32(style["beat"]) * envelope * (kick + 0.5 * white)
    smooth = rng.uniform(0.5, 0.95)
    noise = f32(3.0 * style["noise"]) * lfilter([1.0 - smooth], [1.0, -smooth], white)

    mix = 0.5 * voice * swell + beat + noise.astype(f32)
    peak = float(np.max(np.abs(mix))) or 1.0
    loudness = float(np.clip(style["loud"], 0.05, 0.95))
    return (mix * f32(loudness / peak)).astype(f32)


def _video_codec() -> str:
    """The H.264 encoder PyAV's wheel provides (libx264 in the PyPI wheels)."""
    for name in ("libx264", "h264"):
        try:
            av.codec.Codec(name, "w")
        except Exception:  # PyAV raises several types for an unknown encoder
            continue
        return name
    raise RuntimeError("this PyAV build has no H.264 encoder (libx264 or h264)")


def _encode(path: Path, frames: np.ndarray, audio: np.ndarray, config: SynthConfig) -> None:
    """Mux frames (H.264, yuv420p) and samples (AAC, mono) into an mp4, interleaved in time."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream(_video_codec(), rate=config.fps)
        video.width, video.height = config.width, config.height
        video.pix_fmt = "yuv420p"
        # Same frames, same bitstream: x264's macroblock tree gave run-to-run differences on
        # these frames (even single-threaded), and one thread keeps the output independent of
        # the machine's core count.
        video.options = {"preset": "veryfast", "crf": "23", "x264-params": "mbtree=0"}
        video.codec_context.thread_count = 1
        sound = container.add_stream("aac", rate=config.sample_rate, layout="mono")
        sound.bit_rate = 32000
        sound.options = {"aac_coder": "fast"}

        video_base = Fraction(1, config.fps)
        audio_base = Fraction(1, config.sample_rate)
        n_frames, n_samples = len(frames), len(audio)
        written = 0
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, video_base
            container.mux(video.encode(frame))
            until = min(n_samples, -(-(i + 1) * n_samples // n_frames))
            while written < until:
                chunk = audio[written : written + _AUDIO_CHUNK]
                block = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                block.sample_rate = config.sample_rate
                block.pts, block.time_base = written, audio_base
                container.mux(sound.encode(block))
                written += len(chunk)
        container.mux(video.encode(None))
        container.mux(sound.encode(None))


def write_trailer(
    path: Path, genres: np.ndarray, config: SynthConfig, rng: np.random.Generator
) -> None:
    """Render one synthetic trailer for a multi-hot genre vector and write it as an mp4.

    The file appears only when complete (temporary name in the same folder, then rename).
    """
    path = Path(path)
    plan = _plan(genres, config, rng)
    frames = _render_video(plan, config, rng)
    audio = _render_audio(plan, config, rng)
    write_atomic(path, lambda tmp: _encode(tmp, frames, audio, config))


def generate(
    videos_dir: Path, db_path: Path, config: SynthConfig, progress: bool = True
) -> list[Path]:
    """Write the synthetic data set: ``{id:06d}.mp4`` trailers and LMTD-9's ``database.db``.

    Labels come from ``config.seed``; each trailer's pixels and sound from (seed, id), so
    the same config always gives the same data. The label file is written last.
    """
    videos_dir, db_path = Path(videos_dir), Path(db_path)
    ids, splits, labels = sample_labels(config.count, config.seed)
    videos_dir.mkdir(parents=True, exist_ok=True)
    every = max(1, config.count // 10)
    paths = []
    for done, (trailer_id, genres) in enumerate(zip(ids, labels, strict=True), start=1):
        path = videos_dir / f"{trailer_key(trailer_id)}.mp4"
        rng = np.random.default_rng([config.seed, int(trailer_id)])
        write_trailer(path, genres, config, rng)
        paths.append(path)
        if progress and (done % every == 0 or done == config.count):
            print(f"synth: {done}/{config.count} trailers written", file=sys.stderr, flush=True)
    titles = [f"Synthetic trailer {trailer_key(i)}" for i in ids]
    write_lmtd_db(db_path, ids, splits, labels, titles)
    return paths
