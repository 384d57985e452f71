"""Frames of a trailer-sized video: the seed's OpenCV seeking, our one pass, and skipping.

On a cached 1080p 150 s x264 trailer (``_trailers.py``: B-frames, keyframes at cuts
every 1.5-4 s), docs/method.md's 116 timestamps (5 s to 120 s, 1 fps) at 224x224, timed
side by side, interleaved:

  opencv    the seed's way: per timestamp ``cap.set(CAP_PROP_POS_MSEC)``, ``read()``,
            BGR -> RGB, ``cv2.resize`` to 224x224 (opencv-python-headless, the ``bench``
            extra; not a runtime dependency);
  one pass  ``decode_frames(skip_nonref=False)``: every frame decoded, only picked ones
            scaled (what extraction did before);
  skip      ``decode_frames`` as extraction now calls it: reference frames all decoded,
            non-reference ones only when nearest a target.

Checks: skip and one pass give identical arrays; OpenCV returns the same frames (the
time it reports for each read frame equals the nearest frame's time), with the pixel
difference its own scaler makes. Reports the fraction of frames the skip pass decoded.

A second comparison, on two 720p trailers, is how to use two cores for decoding: one
trailer after the other with FFmpeg's own threads (thread_count 0: frame threads, one
per core) against two trailers at once, one decoder thread each (PyAV releases the GIL
while FFmpeg decodes).

    .venv/bin/python benchmarks/bench_frames.py [--quick] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _trailers  # noqa: E402
from _common import Result, figure, interleaved, median, print_table, ratio  # noqa: E402

from moviegenre.features.decode import decode_frames, nearest_indices, probe  # noqa: E402
from moviegenre.features.timestamps import frame_timestamps  # noqa: E402

SIZE = (224, 224)


def opencv_frames(path: Path, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The seed's frame reading: seek by milliseconds and read, per timestamp.

    Returns the 224x224 RGB frames and the time (s) OpenCV reports for each frame read.
    """
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise RuntimeError(f"OpenCV cannot open {path}")
    out = np.empty((len(stamps), SIZE[1], SIZE[0], 3), dtype=np.uint8)
    times = np.empty(len(stamps))
    try:
        for i, t in enumerate(stamps):
            cap.set(cv2.CAP_PROP_POS_MSEC, float(t) * 1000.0)
            ok, bgr = cap.read()
            if not ok:  # past the last frame: clamp to it, as decode_frames does
                cap.set(cv2.CAP_PROP_POS_FRAMES, cap.get(cv2.CAP_PROP_FRAME_COUNT) - 1)
                ok, bgr = cap.read()
            if not ok:
                raise RuntimeError(f"OpenCV read nothing at {t} s")
            times[i] = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            out[i] = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), SIZE)
    finally:
        cap.release()
    return out, times


def _frame_times(path: Path) -> np.ndarray:
    """Sorted presentation times (s) of the video frames, from the packets (no decoding)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.size and p.pts is not None]
        return np.unique(np.asarray(pts)) * float(stream.time_base)


def _inputs(quick: bool) -> tuple[Path, list[Path]]:
    if quick:
        small = _trailers.trailer("180p", 12.0)
        return small, [small, _trailers.trailer("180p", 12.0, seed=1)]
    return _trailers.trailer("1080p", 150.0), [
        _trailers.trailer("720p", 150.0),
        _trailers.trailer("720p", 150.0, seed=1),
    ]


def compare_frames(path: Path, repeats: int, with_opencv: bool = True) -> list[Result]:
    """opencv / one pass / skip on one trailer; same-frames checks; fraction decoded."""
    frame_times = _frame_times(path)
    stamps = frame_timestamps(probe(path).duration_s)
    label = f"{path.name.split('-')[1]}"
    print(_trailers.describe(path))
    print(f"{len(stamps)} timestamps {stamps[0]:g}..{stamps[-1]:g} s -> {SIZE[0]}x{SIZE[1]}")
    outputs: dict[str, object] = {}
    stats: dict[str, dict] = {"one pass": {}, "skip": {}}

    def one_pass() -> None:
        stats["one pass"].clear()
        outputs["one pass"] = decode_frames(
            path, stamps, skip_nonref=False, stats=stats["one pass"]
        )

    def skip() -> None:
        stats["skip"].clear()
        outputs["skip"] = decode_frames(path, stamps, skip_nonref=True, stats=stats["skip"])

    def seed() -> None:
        outputs["opencv"] = opencv_frames(path, stamps)

    cases = [("one pass", one_pass), ("skip", skip)]
    if with_opencv:
        cases.append(("opencv", seed))
    times = interleaved(cases, repeats)
    if not np.array_equal(outputs["skip"], outputs["one pass"]):
        raise AssertionError("skipping non-reference frames changed the frames")
    t_pass, t_skip = median(times["one pass"]), median(times["skip"])
    decoded = stats["skip"]["decoded"] / max(stats["one pass"]["decoded"], 1)
    print(
        f"skip decoded {stats['skip']['decoded']} frames, one pass "
        f"{stats['one pass']['decoded']} (of {stats['one pass']['frames']} in the file)"
    )
    results = [
        ratio("frames", f"one pass / skip non-ref ({label})", t_pass / t_skip),
        figure("frames", f"skip: frames decoded / one pass's ({label})", 100 * decoded, "%"),
        figure("frames", f"skip: 116 frames at 224x224 ({label})", t_skip, "s"),
    ]
    if with_opencv:
        frames, cv_times = outputs["opencv"]
        ours = frame_times[nearest_indices(frame_times, stamps)]
        same = int(np.sum(np.abs(cv_times - ours) < 0.5 / _trailers.FPS))
        diff = np.abs(frames.astype(np.int16) - outputs["skip"].astype(np.int16))
        print(
            f"opencv: {same}/{len(stamps)} frames at our frame's time; mean |pixel difference| "
            f"{diff.mean():.2f} (cv2.resize vs swscale), median per frame "
            f"{np.median(diff.mean(axis=(1, 2, 3))):.2f}"
        )
        t_cv = median(times["opencv"])
        results += [
            ratio("frames", f"opencv seek+read+resize / skip ({label})", t_cv / t_skip),
            figure(
                "frames",
                f"opencv frames at the same time as ours ({label})",
                100 * same / len(stamps),
                "%",
            ),
        ]
    return results


def compare_threads(paths: list[Path], repeats: int) -> list[Result]:
    """Two trailers: one after the other, FFmpeg threads each, vs both at once, 1 thread each."""
    stamps = [frame_timestamps(probe(p).duration_s) for p in paths]

    def sequential() -> None:
        for path, st in zip(paths, stamps, strict=True):
            decode_frames(path, st, threads=0)

    def parallel() -> None:
        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            jobs = [
                pool.submit(decode_frames, p, st, threads=1)
                for p, st in zip(paths, stamps, strict=True)
            ]
            for job in jobs:
                job.result()

    cpu = {}

    def timed(name, fn):
        def run() -> None:
            start = time.process_time()
            fn()
            cpu.setdefault(name, []).append(time.process_time() - start)

        return name, run

    times = interleaved(
        [timed("threads=0, in turn", sequential), timed("threads=1, both at once", parallel)],
        repeats,
    )
    label = paths[0].name.split("-")[1]
    a, b = median(times["threads=0, in turn"]), median(times["threads=1, both at once"])
    per_trailer = median(cpu["threads=1, both at once"]) / len(paths)
    return [
        ratio(
            "frames",
            f"{len(paths)} trailers in turn (threads 0) / at once (1 each) ({label})",
            a / b,
        ),
        figure("frames", f"decode CPU per trailer, skip, 116 frames ({label})", per_trailer, "s"),
    ]


def run(quick: bool = False, repeats: int | None = None) -> list[Result]:
    repeats = repeats or (1 if quick else 2)
    main_path, pair = _inputs(quick)
    with_opencv = importlib.util.find_spec("cv2") is not None
    if not with_opencv:  # `make bench` installs it (the `bench` extra); `make test` does not
        print(
            "opencv-python-headless is not installed: no OpenCV comparison (pip install '.[bench]')"
        )
    results = compare_frames(main_path, repeats, with_opencv)
    results += compare_threads(pair, repeats)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    print_table(run(args.quick, args.repeats), "FRAMES BENCHMARK")


if __name__ == "__main__":
    main()
