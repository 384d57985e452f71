"""Peak memory and time of one file's audio vector against the file's length (issue 22).

Long files are made cheaply with PyAV: audio only, stereo 48 kHz AAC at 64 kb/s (a film's
usual rate and layout), cached under ``--cache``. Each measurement runs
``trailer.audio_features_for`` with params.yaml's ``audio`` settings in a fresh
interpreter and reads its peak resident memory (``ru_maxrss``, the interpreter and its
libraries included) and the wall time of the call, so nothing measured before pollutes
the peak. ``--unlimited`` also measures with ``audio.max_seconds`` off (what the code did
before the limit), for files up to ``--unlimited-up-to`` minutes.

    .venv/bin/python benchmarks/bench_audio_memory.py --minutes 1 10 45 120 --unlimited
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
AUDIO_CFG = yaml.safe_load((REPO / "params.yaml").read_text())["audio"]

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from moviegenre.features.trailer import audio_features_for
cfg = json.loads(sys.argv[2])
start = time.perf_counter()
vector, silent, duration = audio_features_for(Path(sys.argv[1]), cfg)
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_mb": peak_mb, "seconds": seconds, "duration_s": duration}))
"""


def write_long_audio(path: Path, minutes: float, rate: int = 48000) -> Path:
    """Stereo AAC of ``minutes``: a tone stepping in pitch every second, plus noise."""
    import av

    if path.exists():
        return path
    tmp = path.with_suffix(".part.m4a")
    rng = np.random.default_rng(0)
    total = int(minutes * 60 * rate)
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate, layout="stereo")
        stream.bit_rate = 64_000
        block = rate  # one second at a time: the writer's memory stays flat
        for start in range(0, total, block):
            n = min(block, total - start)
            t = (start + np.arange(n)) / rate
            freq = 220.0 * (1 + (np.floor(t) % 5))
            mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(n)
            stereo = np.stack([mono, 0.8 * mono]).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(stereo.T).reshape(1, -1), format="flt", layout="stereo"
            )
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    tmp.rename(path)
    return path


def measure(path: Path, cfg: dict) -> dict:
    """Peak RSS (MB) and seconds of the audio vector of ``path``, in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), json.dumps(cfg)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 45, 120])
    parser.add_argument("--cache", type=Path, default=REPO / "benchmarks" / ".cache" / "long_audio")
    parser.add_argument("--unlimited", action="store_true")
    parser.add_argument("--unlimited-up-to", type=float, default=45)
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"audio settings: {AUDIO_CFG}")
    print(f"{'minutes':>8} {'max_seconds':>12} {'peak MB':>9} {'seconds':>8}")
    for minutes in args.minutes:
        path = write_long_audio(args.cache / f"audio_{minutes:g}min.m4a", minutes)
        limits = [AUDIO_CFG.get("max_seconds")]
        if args.unlimited and minutes <= args.unlimited_up_to:
            limits.append(None)
        for limit in limits:
            got = measure(path, {**AUDIO_CFG, "max_seconds": limit})
            print(
                f"{minutes:>8g} {limit!s:>12} {got['peak_mb']:>9.0f} {got['seconds']:>8.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
