"""One sequential decoding pass vs seeking per timestamp, for docs/method.md's 116 frames.

Writes a synthetic 130 s, 320x180, 25 fps H.264 trailer (moving textured scene, scene
cuts) into a temporary folder, then times side by side in the same process, alternating
so that both see the same machine state:

  (a) ``decode_frames``: one pass, only the picked frames scaled to 224x224;
  (b) ``decode_frames_seeking`` (tests/seeking.py): seek + decode to the frame, per
      timestamp (the seed's method, as OpenCV does it).

Prints each run, the medians and the ratio (b)/(a). Run with
``.venv/bin/python benchmarks/bench_decode.py [--gop 250] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from moviegenre.features.decode import decode_frames, probe
from moviegenre.features.timestamps import frame_timestamps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from seeking import decode_frames_seeking  # noqa: E402  (tests/seeking.py: the seed's way)


def write_synthetic_trailer(
    path: Path,
    duration_s: float = 130.0,
    fps: int = 25,
    size: tuple[int, int] = (320, 180),
    gop: int = 250,
    seed: int = 0,
    scenecut: bool = True,
) -> Path:
    """A moving, textured scene with a cut every 4 s: decoding costs like real footage.

    With ``scenecut`` x264 puts a keyframe at most cuts (cheap seeks); without it the
    keyframes are exactly ``gop`` frames apart, as from a fixed-GOP encoder.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    # smooth random texture, larger than the frame, panned over to make motion
    coarse = rng.integers(0, 256, size=(height // 4 + 8, width // 4 + 64, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)
    n_frames = int(round(duration_s * fps))
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "crf": "23"}
        if not scenecut:
            stream.options["x264-params"] = "scenecut=0"
        for i in range(n_frames):
            scene = (i // (4 * fps)) % 7
            dx = (i * 2 + scene * 37) % (texture.shape[1] - width)
            dy = (scene * 5) % (texture.shape[0] - height)
            picture = texture[dy : dy + height, dx : dx + width].copy()
            picture[:, :, scene % 3] //= 2
            box = (i * 3) % (width - 40)
            picture[60:100, box : box + 40] = 255 - 20 * scene
            picture = np.clip(
                picture.astype(np.int16) + rng.integers(-6, 7, size=picture.shape, dtype=np.int16),
                0,
                255,
            ).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _count_keyframes(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.is_keyframe)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=130.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--gop", type=int, default=250, help="keyframe interval (x264: 250)")
    parser.add_argument(
        "--no-scenecut",
        action="store_true",
        help="keyframes only every --gop frames (no extra keyframes at scene cuts)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=224, help="output side (square)")
    args = parser.parse_args(argv)

    print(
        f"PyAV {av.__version__}, FFmpeg libavcodec {av.library_versions['libavcodec']}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_decode_") as tmp:
        path = Path(tmp) / "trailer.mp4"
        t0 = time.perf_counter()
        write_synthetic_trailer(
            path, args.duration, args.fps, gop=args.gop, scenecut=not args.no_scenecut
        )
        info = probe(path)
        keyframes = _count_keyframes(path)
        print(
            f"wrote {info.duration_s:.0f} s {info.width}x{info.height} {info.fps:g} fps "
            f"gop {args.gop} ({keyframes} keyframes), {path.stat().st_size / 1e6:.1f} MB, in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        stamps = frame_timestamps(info.duration_s)
        size = (args.size, args.size)
        print(f"{len(stamps)} timestamps {stamps[0]:g}..{stamps[-1]:g} s -> {size[0]}x{size[1]}")

        times: dict[str, list[float]] = {"sequential": [], "seeking": []}
        outputs = {}
        for r in range(args.repeats):
            for name, fn in (("sequential", decode_frames), ("seeking", decode_frames_seeking)):
                start = time.perf_counter()
                outputs[name] = fn(path, stamps, size)
                elapsed = time.perf_counter() - start
                times[name].append(elapsed)
                print(f"  run {r + 1} {name:10s} {elapsed:7.3f} s")

        diff = np.abs(outputs["sequential"].astype(int) - outputs["seeking"].astype(int)).max()
        a = statistics.median(times["sequential"])
        b = statistics.median(times["seeking"])
        print(f"same frames: max pixel difference {diff}")
        print(f"(a) sequential pass, median: {a:.3f} s  ({len(stamps) / a:.0f} frames/s picked)")
        print(f"(b) seek per timestamp, median: {b:.3f} s")
        print(f"ratio (b)/(a): {b / a:.2f}")


if __name__ == "__main__":
    main()
