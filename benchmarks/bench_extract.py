"""Visual extraction: what a shard job saves, side by side in one process.

Three comparisons, each timed interleaved (A, B, A, B, ...) and reported as a ratio of
medians, with mobilenetv3small (weights none: no download) on the CPU:

  shard     (a) ``extract_visual_shard`` once for a shard of N small trailers (one backbone
            load, one compiled predict function) vs (b) one job per trailer in the same
            process: ``extract_visual_shard({one trailer})``, which builds the backbone
            anew each time. A fresh ``python -c "import tensorflow"`` is timed too, to show
            what a process per trailer would add on top: (b + N * start-up) / (a).
  inference ``model.predict_on_batch(x)`` (what ``Backbone.embed`` calls) vs the eager
            ``model(x, training=False)``, per batch of 32 frames at 224x224.
  overlap   ``extract_visual_shard`` with decode_threads=2 (decoding the next trailers while
            the network runs) vs a serial loop: decode a trailer, embed it, next trailer.
            Trailers: 130 s, 320x180, 25 fps synthetic footage (bench_decode's generator).
            The serial loop also gives the decode / embed split, hence the ideal overlap
            (decode + embed) / max(decode, embed) for comparison.

    .venv/bin/python benchmarks/bench_extract.py [--quick] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Result,
    figure,
    import_test_media,
    interleaved,
    median,
    print_table,
    ratio,
)

FRAMES_CFG = {"start_s": 5.0, "end_s": 120.0, "count": 116, "step_ms": "exact"}
BACKBONE_CFG = {"name": "mobilenetv3small", "weights": "none", "batch_size": 32}
EXTRACTION_CFG = {"min_duration_s": 6.0}


def _setup_tensorflow() -> None:
    """As the Snakemake rule does: 2 threads for the shard job."""
    from moviegenre.runtime import configure_tensorflow

    configure_tensorflow(threads=2)


def small_trailers(folder: Path, count: int, duration_s: float = 8.0) -> dict[str, Path]:
    """``count`` tiny trailers (64x48, 8 fps, no sound): decoding them costs next to nothing."""
    media = import_test_media()
    folder.mkdir(parents=True, exist_ok=True)
    videos = {}
    for i in range(count):
        trailer_id = f"{i + 1:06d}"
        videos[trailer_id] = media.write_test_video(
            folder / f"{trailer_id}.mp4", duration_s, fps=8, size=(64, 48), audio=False
        )
    return videos


def footage_trailers(folder: Path, count: int, duration_s: float) -> dict[str, Path]:
    """``count`` copies of one textured 320x180 25 fps trailer: decoding costs like footage."""
    from bench_decode import write_synthetic_trailer

    folder.mkdir(parents=True, exist_ok=True)
    first = write_synthetic_trailer(folder / "000001.mp4", duration_s)
    videos = {"000001": first}
    for i in range(1, count):
        trailer_id = f"{i + 1:06d}"
        videos[trailer_id] = Path(shutil.copyfile(first, folder / f"{trailer_id}.mp4"))
    return videos


def _extract(videos: dict[str, Path], out: Path, backbone=None, threads: int = 2) -> None:
    from moviegenre.features.extract import extract_visual_shard

    statuses = extract_visual_shard(
        videos, out, out.with_suffix(".status.csv"), FRAMES_CFG, BACKBONE_CFG, EXTRACTION_CFG,
        backbone, decode_workers=threads,
    )  # fmt: skip
    bad = [s for s in statuses if s.status != "ok"]
    if bad:
        raise RuntimeError(f"extraction failed for {len(bad)} trailers: {bad[0]}")


def _warm_up(backbone) -> None:
    """Trace the predict function for both batch shapes of a trailer (full and remainder)."""
    backbone.embed(np.zeros((FRAMES_CFG["count"], 224, 224, 3), dtype=np.uint8))


def bench_shard(tmp: Path, n_trailers: int, repeats: int, startup_repeats: int) -> list[Result]:
    """(a) one backbone per shard vs (b) one backbone per trailer (+ process start-up)."""
    videos = small_trailers(tmp / "small", n_trailers)
    out = tmp / "out-shard"
    print(
        f"shard vs per trailer: {n_trailers} trailers of 8 s, 64x48, "
        f"{FRAMES_CFG['count']} frames each"
    )

    def per_shard() -> None:
        _extract(videos, out / "shard.parquet")

    def per_trailer() -> None:
        for trailer_id, path in videos.items():
            _extract({trailer_id: path}, out / f"trailer-{trailer_id}.parquet")

    times = interleaved(
        [("(a) one job per shard", per_shard), ("(b) per trailer", per_trailer)], repeats
    )
    a = median(times["(a) one job per shard"])
    b = median(times["(b) per trailer"])
    print(f"  (a) median {a:.2f} s, (b) median {b:.2f} s, (b)/(a) {b / a:.2f}")
    results = [
        ratio("shard", f"per-trailer backbone / per-shard ({n_trailers} trailers)", b / a),
        figure("shard", "per-shard job, time per trailer", a / n_trailers, "s"),
    ]
    if startup_repeats > 0:
        startups = []
        for r in range(startup_repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import tensorflow"], check=True)
            startups.append(time.perf_counter() - start)
            print(f"  run {r + 1} python -c 'import tensorflow'  {startups[-1]:8.3f} s")
        startup = median(startups)
        with_processes = b + n_trailers * startup
        print(f"  process start-up {startup:.2f} s; (b + N*start-up)/(a) {with_processes / a:.2f}")
        results += [
            ratio("shard", "process per trailer (b + N*import tf) / per-shard", with_processes / a),
            figure("shard", "fresh process: import tensorflow", startup, "s"),
        ]
    return results


def bench_inference(backbone, n_batches: int, repeats: int, batch_size: int = 32) -> list[Result]:
    """predict_on_batch vs the eager call on the same preprocessed batch."""
    model = backbone.model
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(batch_size, 224, 224, 3), dtype=np.uint8)
    x = backbone.preprocess(frames.astype(np.float32))
    print(f"inference: {n_batches} batches of {batch_size} frames per run, {backbone.name}")

    def compiled() -> None:
        for _ in range(n_batches):
            np.asarray(model.predict_on_batch(x))

    def eager() -> None:
        for _ in range(n_batches):
            np.asarray(model(x, training=False))

    # first calls trace / build: not part of the per-batch cost
    compiled()
    eager()
    same = np.abs(np.asarray(model.predict_on_batch(x)) - np.asarray(model(x, training=False)))
    times = interleaved([("predict_on_batch", compiled), ("eager model(x)", eager)], repeats)
    t_compiled = median(times["predict_on_batch"])
    t_eager = median(times["eager model(x)"])
    frames_done = n_batches * batch_size
    print(
        f"  predict_on_batch {frames_done / t_compiled:.0f} frames/s, eager "
        f"{frames_done / t_eager:.0f} frames/s, max |difference| {same.max():.2g}"
    )
    return [
        ratio("inference", "eager call time / predict_on_batch time", t_eager / t_compiled),
        figure("inference", "predict_on_batch throughput", frames_done / t_compiled, "frames/s"),
        figure("inference", "eager model(x) throughput", frames_done / t_eager, "frames/s"),
    ]


def bench_overlap(
    tmp: Path, backbone, n_trailers: int, duration_s: float, repeats: int
) -> list[Result]:
    """Decode threads overlapping inference vs decode-then-embed, trailer after trailer."""
    from moviegenre.features.decode import decode_frames, probe
    from moviegenre.features.shards import visual_table, write_table_atomic
    from moviegenre.features.timestamps import frame_timestamps

    start = time.perf_counter()
    videos = footage_trailers(tmp / "footage", n_trailers, duration_s)
    print(
        f"overlap: {n_trailers} trailers of {duration_s:g} s 320x180 25 fps "
        f"(written in {time.perf_counter() - start:.1f} s)"
    )
    out = tmp / "out-overlap"
    split = {"decode": [], "embed": []}

    def overlapped() -> None:
        _extract(videos, out / "overlap.parquet", backbone=backbone, threads=2)

    def serial() -> None:
        ids, stamps_all, feats, decode_s, embed_s = [], [], [], 0.0, 0.0
        for trailer_id, path in videos.items():
            t0 = time.perf_counter()
            duration = probe(path).duration_s
            stamps = frame_timestamps(
                duration, FRAMES_CFG["start_s"], FRAMES_CFG["end_s"], FRAMES_CFG["count"]
            )
            frames = decode_frames(path, stamps)
            t1 = time.perf_counter()
            feats.append(backbone.embed(frames, BACKBONE_CFG["batch_size"]))
            t2 = time.perf_counter()
            ids.append(trailer_id)
            stamps_all.append(stamps)
            decode_s, embed_s = decode_s + t1 - t0, embed_s + t2 - t1
        table = visual_table(ids, stamps_all, feats, backbone.dim)
        write_table_atomic(table, out / "serial.parquet", {"kind": "visual", "dim": backbone.dim})
        split["decode"].append(decode_s)
        split["embed"].append(embed_s)

    times = interleaved(
        [("(a) decode threads overlap", overlapped), ("(b) serial decode, embed", serial)], repeats
    )
    a = median(times["(a) decode threads overlap"])
    b = median(times["(b) serial decode, embed"])
    dec, emb = median(split["decode"]), median(split["embed"])
    ideal = (dec + emb) / max(dec, emb)
    print(
        f"  (a) {a:.2f} s, (b) {b:.2f} s (decode {dec:.2f} s + embed {emb:.2f} s), "
        f"(b)/(a) {b / a:.2f}, ideal {ideal:.2f}"
    )
    return [
        ratio("overlap", f"serial / overlapped decode ({n_trailers} trailers)", b / a),
        ratio("overlap", "ideal bound (decode + embed) / max(decode, embed)", ideal),
        figure("overlap", "serial: decode share of the time", 100 * dec / (dec + emb), "%"),
    ]


PARTS = ("shard", "inference", "overlap")


def run(
    quick: bool = False,
    repeats: int | None = None,
    trailers: int | None = None,
    overlap_trailers: int | None = None,
    overlap_duration: float | None = None,
    startup_repeats: int | None = None,
    frames: int | None = None,
    parts: tuple[str, ...] = PARTS,
) -> list[Result]:
    """The comparisons in ``parts``; ``quick`` shrinks them to a smoke test."""
    _setup_tensorflow()
    from moviegenre.features.backbones import build_backbone

    FRAMES_CFG["count"] = frames or (12 if quick else 116)
    reps = repeats or (1 if quick else 3)
    # One backbone for the inference and overlap cases; building it first (untimed) also
    # pays TensorFlow's one-off process initialisation, which is no case's cost.
    backbone = build_backbone(BACKBONE_CFG["name"], BACKBONE_CFG["weights"])
    _warm_up(backbone)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench_extract_") as name:
        tmp = Path(name)
        if "shard" in parts:
            startups = startup_repeats if startup_repeats is not None else (0 if quick else 2)
            results += bench_shard(tmp, trailers or (2 if quick else 6), reps, startups)
        if "inference" in parts:
            results += bench_inference(backbone, 1 if quick else 4, 2 if quick else reps + 2)
        if "overlap" in parts:
            results += bench_overlap(
                tmp,
                backbone,
                overlap_trailers or (2 if quick else 4),
                overlap_duration or (12.0 if quick else 130.0),
                repeats or (2 if quick else 3),
            )
    return results


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("--repeats", type=int, help="interleaved repeats (default 3, quick 1)")
    parser.add_argument("--trailers", type=int, help="small trailers in the shard (default 6)")
    parser.add_argument("--overlap-trailers", type=int, help="footage trailers (default 4)")
    parser.add_argument("--overlap-duration", type=float, help="seconds each (default 130)")
    parser.add_argument(
        "--startup-repeats", type=int, help="fresh `import tensorflow` processes (default 2)"
    )
    parser.add_argument("--frames", type=int, help="frames per trailer (default 116, quick 12)")
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}"
    )
    args = parser.parse_args(argv)
    parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {PARTS}")
    results = run(
        args.quick,
        args.repeats,
        args.trailers,
        args.overlap_trailers,
        args.overlap_duration,
        args.startup_repeats,
        args.frames,
        parts,
    )
    print_table(results, "bench_extract")
    return results


if __name__ == "__main__":
    main()
