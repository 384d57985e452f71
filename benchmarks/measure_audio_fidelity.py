"""How much each audio-chain choice moves the 140 values, and what each resampler costs.

Writes three trailer-like AAC mp4 files (stereo 44.1 kHz, 5.1 48 kHz, mono 8 kHz; music,
dialogue, noise bursts and hits, different on every channel), then reports, per block
(delta 0:65, MFCC 65:130, LPC 130:140), the largest absolute difference between:

- resamplers: soxr_hq (default) vs kaiser_best (the seed's), and swr vs kaiser_best;
- downmix: FFmpeg's (0.7071 (L + R), its 5.1 matrix) vs the equal-weight channel mean;
- end: with the AAC encoder's padding past the declared end vs without;
- STFT padding: constant (librosa 0.10+) vs reflect (librosa 0.6);

and the audio extraction time per trailer (``audio_features_for``: probe, decode, resample,
features) for each resampler, median of ``--repeats`` interleaved runs. Not part of
``run_all.py``: it measures fidelity, not a speed-up. docs/method.md quotes its output.

    .venv/bin/python benchmarks/measure_audio_fidelity.py [--seconds 45] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from media import write_test_video  # noqa: E402

from moviegenre.features.audio import audio_vector  # noqa: E402
from moviegenre.features.resample import RESAMPLERS, resample  # noqa: E402
from moviegenre.features.sound import decode_audio_native  # noqa: E402
from moviegenre.features.trailer import audio_features_for  # noqa: E402

SR = 22050
OFFSET = 5.0
BLOCKS = {"delta": slice(0, 65), "MFCC": slice(65, 130), "LPC": slice(130, 140)}
CFG = {"sample_rate": SR, "offset_s": OFFSET, "n_mfcc": 13, "lpc_order": 9, "pooling": "seed"}
TRAILERS = {"stereo 44.1 kHz": (44100, 2), "5.1 48 kHz": (48000, 6), "mono 8 kHz": (8000, 1)}


def trailer_sound(seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    """Planar float32 [channels, n]: music on the fronts, dialogue in the centre, ambience."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    root = 110.0 * 2 ** (np.floor(t / 2.5) % 7 / 12)  # a chord change every 2.5 s
    music = sum(np.sin(2 * np.pi * root * k * t) / k for k in (1, 2, 3, 5, 8)) * 0.08
    voice = np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * 3 * t)) * t)
    voice *= (np.sin(2 * np.pi * 0.7 * t) > 0.2) * 0.15  # speech-like on/off
    noise = rng.standard_normal(n) * 0.03
    bursts = rng.standard_normal(n) * 0.2 * (np.sin(2 * np.pi * 0.13 * t) > 0.95)
    hits = np.zeros(n)
    hits[(np.arange(0, seconds, 0.9) * rate).astype(int)] = 0.8
    hits = np.convolve(hits, np.exp(-np.arange(int(0.05 * rate)) / (0.01 * rate)))[:n]
    fronts = music + bursts + hits
    if channels == 1:
        out = [fronts + voice + noise]
    elif channels == 2:
        out = [fronts * 0.9 + voice * 0.6 + noise, fronts * 0.6 + voice * 0.6 + noise[::-1]]
    else:
        lfe = np.convolve(hits + music, np.ones(64) / 64)[:n]
        out = [fronts * 0.8, fronts * 0.5, voice, lfe, noise * 2, bursts + noise[::-1]]
    return np.clip(np.stack(out), -0.99, 0.99).astype(np.float32)


def _ffmpeg_downmix(path: Path) -> tuple[np.ndarray, int]:
    """The former chain's sound at the native rate: FFmpeg's mono downmix, with padding."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        mixer = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = [
            o.to_ndarray().reshape(-1) for f in container.decode(stream) for o in mixer.resample(f)
        ]
        chunks += [o.to_ndarray().reshape(-1) for o in mixer.resample(None)]
    return np.concatenate(chunks)[int(OFFSET * rate) :], rate


def _padded_mean(path: Path) -> tuple[np.ndarray, int]:
    """Equal-weight mean of every decoded sample, the encoder's padding included."""
    with av.open(str(path)) as container:
        frames = [f for f in container.decode(audio=0)]
        rate = frames[0].sample_rate
        y = np.concatenate([f.to_ndarray().astype(np.float64).mean(axis=0) for f in frames])
    return y[int(OFFSET * rate) :].astype(np.float32), rate


def _diff(a: np.ndarray, b: np.ndarray) -> str:
    return "  ".join(f"{k} {np.abs(a[s] - b[s]).max():.3g}" for k, s in BLOCKS.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, (rate, channels) in TRAILERS.items():
            sound = trailer_sound(args.seconds, rate, channels)
            path = write_test_video(
                Path(tmp) / f"{rate}_{channels}.mp4",
                args.seconds,
                fps=2,
                size=(32, 32),
                sample_rate=rate,
                channels=channels,
                signal=sound,
            )
            vectors = {m: audio_features_for(path, {**CFG, "resampler": m})[0] for m in RESAMPLERS}
            times: dict[str, list[float]] = {m: [] for m in RESAMPLERS}
            for _ in range(args.repeats):
                for method in RESAMPLERS:
                    start = time.perf_counter()
                    audio_features_for(path, {**CFG, "resampler": method})
                    times[method].append(time.perf_counter() - start)
            native, native_rate = decode_audio_native(path, OFFSET)
            ours = resample(native, native_rate, SR, "soxr_hq")
            base = audio_vector(ours, SR)
            print(f"{label} ({args.seconds:g} s AAC, {path.stat().st_size // 1024} KiB)")
            kaiser = vectors["kaiser_best"]
            print(f"  soxr_hq vs kaiser_best:   {_diff(vectors['soxr_hq'], kaiser)}")
            print(f"  swr vs kaiser_best:       {_diff(vectors['swr'], kaiser)}")
            if channels > 1:
                mixed, _ = _ffmpeg_downmix(path)
                old = audio_vector(resample(mixed, native_rate, SR, "soxr_hq"), SR)
                print(f"  FFmpeg downmix vs mean:   {_diff(old, base)}")
            padded, _ = _padded_mean(path)
            with_pad = audio_vector(resample(padded, native_rate, SR, "soxr_hq"), SR)
            extra = padded.size - native.size
            print(f"  padding kept ({extra} samples) vs cut: {_diff(with_pad, base)}")
            import librosa

            constant = librosa.feature.mfcc(y=ours, sr=SR, n_mfcc=13)
            reflect = librosa.feature.mfcc(y=ours, sr=SR, n_mfcc=13, pad_mode="reflect")
            n = constant.shape[1] // 5
            c = constant[:, : n * 5].reshape(13, n, 5)
            r = reflect[:, : n * 5].reshape(13, n, 5)
            w = (n // 2) * 2 - 1
            d_c = librosa.feature.delta(c, width=w, axis=1).mean(axis=1)
            d_r = librosa.feature.delta(r, width=w, axis=1).mean(axis=1)
            print(
                f"  STFT pad constant vs reflect: delta {np.abs(d_c - d_r).max():.3g}  "
                f"MFCC {np.abs(c.mean(axis=1) - r.mean(axis=1)).max():.3g}  LPC 0"
            )
            timing = "  ".join(f"{m} {statistics.median(times[m]):.3f} s" for m in RESAMPLERS)
            print(f"  extraction time per trailer: {timing}")


if __name__ == "__main__":
    main()
