"""The 140-value audio vector of a trailer: our one decode against the seed's mp3 detour.

On the cached 1080p 150 s trailer of ``_trailers.py`` (stereo AAC, 48 kHz), timed side
by side, interleaved:

  ours  ``trailer.audio_features_for``: probe, ``decode_audio`` (PyAV: AAC decoded once,
        downmixed and resampled to 22,050 Hz mono by libswresample, from 5 s on), then
        ``audio_vector`` (MFCC + LPC, params.yaml's audio settings);
  seed  the seed's chain: the sound transcoded to an mp3 file (what ``ffmpeg -i trailer
        out.mp3`` does: AAC decoded, encoded with libmp3lame at 128 kb/s), then
        ``librosa.load(mp3, sr=22050, offset=5)``, then the same ``audio_vector``.

This machine has no ffmpeg binary, so PyAV's libmp3lame (the encoder the ffmpeg CLI
uses) writes the mp3 in-process: no process start-up is counted, which favours the seed.
librosa >= 0.10 resamples with soxr by default; the seed's librosa 0.6 used resampy
``kaiser_best``, several times slower, so the ratio here is a lower bound.

    .venv/bin/python benchmarks/bench_audio.py [--quick] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _trailers  # noqa: E402
from _common import REPO, Result, figure, interleaved, median, print_table, ratio  # noqa: E402

AUDIO_CFG = yaml.safe_load((REPO / "params.yaml").read_text())["audio"]


def write_mp3(source: Path, target: Path, bit_rate: int = 128_000) -> Path:
    """The first audio stream of ``source`` re-encoded to an mp3 file (ffmpeg's default chain)."""
    with av.open(str(source)) as inp, av.open(str(target), mode="w") as out:
        audio_in = inp.streams.audio[0]
        rate = audio_in.codec_context.sample_rate
        stream = out.add_stream("libmp3lame", rate=rate, layout=audio_in.layout.name)
        stream.bit_rate = bit_rate
        for frame in inp.decode(audio_in):
            frame.pts = None
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return target


def seed_vector(path: Path, folder: Path) -> np.ndarray:
    """ffmpeg -> mp3 -> librosa.load(offset=5) -> audio_vector, as the seed computes it."""
    import librosa

    from moviegenre.features.audio import audio_vector

    mp3 = write_mp3(path, folder / f"{path.stem}.mp3")
    rate = int(AUDIO_CFG["sample_rate"])
    y, sr = librosa.load(str(mp3), sr=rate, offset=float(AUDIO_CFG["offset_s"]))
    return audio_vector(
        y,
        sr,
        n_mfcc=int(AUDIO_CFG["n_mfcc"]),
        lpc_order=int(AUDIO_CFG["lpc_order"]),
        pooling=str(AUDIO_CFG["pooling"]),
    )


def run(quick: bool = False, repeats: int | None = None) -> list[Result]:
    from moviegenre.features.trailer import audio_features_for

    repeats = repeats or (1 if quick else 3)
    path = _trailers.trailer("180p", 12.0) if quick else _trailers.trailer("1080p", 150.0)
    label = path.name.split("-")[1]
    print(_trailers.describe(path))
    outputs: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="bench_audio_") as tmp:

        def ours() -> None:
            outputs["ours"] = audio_features_for(path, AUDIO_CFG)[0]

        def seed() -> None:
            outputs["seed"] = seed_vector(path, Path(tmp))

        seed()  # librosa's imports and caches: paid once, outside the timing
        ours()
        times = interleaved([("ours", ours), ("seed", seed)], repeats)
    a, b = median(times["ours"]), median(times["seed"])
    gap = np.abs(outputs["ours"] - outputs["seed"]) / (np.abs(outputs["seed"]) + 1e-3)
    print(
        f"vectors: {outputs['ours'].shape[0]} values; relative difference median "
        f"{np.median(gap):.3f}, max {gap.max():.3f} (mp3 coding and resampler differ)"
    )
    return [
        ratio("audio", f"seed mp3 chain / our decode, incl. features ({label})", b / a),
        figure("audio", f"ours: decode + 140 features per trailer ({label})", a, "s"),
        figure("audio", f"seed: mp3 + librosa.load + features ({label})", b, "s"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    print_table(run(args.quick, args.repeats), "AUDIO BENCHMARK")


if __name__ == "__main__":
    main()
