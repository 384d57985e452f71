"""One command for the first machine with a GPU: how fast the backbone is, and the shard job.

    .venv/bin/python benchmarks/gpu_check.py            # on a GPU machine: under 5 minutes
    .venv/bin/python benchmarks/gpu_check.py --quick    # CPU smoke sizes (make test)

Prints, with the device TensorFlow uses:

  backbone   frames/s of ``Backbone.embed_batch`` alone (frames already in memory, the
             network only): ResNet-50 and ResNet-152, weights none (random: no download,
             the same arithmetic as ImageNet weights), batches of 32 / 128 / 256 frames,
             float32 and Keras' mixed_float16 policy;
  job        frames/s of ``extract_visual_shard`` (decode workers = this machine's cores,
             cross-trailer batches, ResNet-50 float32 at batch 128) on copies of a 1080p
             150 s x264 trailer (benchmarks/_trailers.py; encoded on first use);
  ratio      job / backbone alone at the job's settings: how much of the GPU the decoders
             can feed (1 = the network sets the pace; well under 1 = add cores).

Without a GPU it says so, measures the CPU at the smoke sizes (ResNet-50 at batch 2 only,
a 180p trailer) and exits 0, so it runs in the CPU smoke benchmarks as well. The job row
needs the package's extraction code only: it is the shard job minus Snakemake.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _trailers  # noqa: E402
from _common import Result, figure, print_table, ratio  # noqa: E402

FRAMES_CFG = {"start_s": 5.0, "end_s": 120.0, "count": 116, "step_ms": "exact"}
FULL = {
    "backbones": ("resnet50", "resnet152"),
    "batches": (32, 128, 256),
    "precisions": ("float32", "mixed_float16"),
    "seconds": 4.0,  # timed calls per setting: at least this long (after one warm-up call)
    "job": ("resnet50", "float32", 128),
    "trailer": ("1080p", 150.0),
}
SMOKE = {
    "backbones": ("resnet50",),
    "batches": (2,),
    "precisions": ("float32",),
    "seconds": 0.0,  # one timed call
    "job": ("resnet50", "float32", 2),
    "trailer": ("180p", 12.0),
}


def _build(name: str, precision: str):
    """The backbone under a Keras dtype policy (mixed_float16: float16 compute, f32 weights)."""
    import keras

    from moviegenre.features.backbones import build_backbone

    keras.mixed_precision.set_global_policy(precision)
    try:
        return build_backbone(name, "none")
    finally:
        keras.mixed_precision.set_global_policy("float32")


def backbone_rate(backbone, batch: int, seconds: float) -> float:
    """Frames/s of full batches through the network, frames already in memory."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(batch, 224, 224, 3), dtype=np.uint8)
    backbone.embed_batch(frames, batch)  # trace this shape
    calls, start = 0, time.perf_counter()
    while True:
        backbone.embed_batch(frames, batch)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * batch / elapsed


def job_rate(backbone, batch: int, workers: int, resolution: str, duration: float) -> float:
    """Frames/s of the shard job on ``2 * workers`` copies of one trailer."""
    from moviegenre.features.extract import extract_visual_shard

    source = _trailers.trailer(resolution, duration)
    print(_trailers.describe(source), flush=True)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        videos = {}
        for i in range(2 * workers):
            link = Path(tmp) / f"{i + 1:06d}.mp4"
            link.symlink_to(source)
            videos[link.stem] = link
        out = Path(tmp) / "shard.parquet"
        cfg = {"name": backbone.name, "weights": "none", "batch_size": batch}
        start = time.perf_counter()
        statuses = extract_visual_shard(
            videos, out, out.with_suffix(".csv"), FRAMES_CFG, cfg, {"min_duration_s": 6.0},
            backbone, decode_workers=workers,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
    assert all(s.status == "ok" for s in statuses), statuses
    return len(videos) * FRAMES_CFG["count"] / elapsed


def run(quick: bool = False) -> list[Result]:
    from moviegenre.features.cores import available_cores
    from moviegenre.runtime import configure_tensorflow

    started = time.perf_counter()
    workers = available_cores()
    gpus = configure_tensorflow(threads=workers)
    if gpus:
        print(f"GPU check on {', '.join(gpus)}; {workers} cores", flush=True)
    else:
        print(f"no GPU visible to TensorFlow: CPU smoke sizes only; {workers} cores", flush=True)
    sizes = FULL if gpus and not quick else SMOKE
    device = "GPU" if gpus else "CPU"
    results: list[Result] = []
    alone: dict[tuple[str, str, int], float] = {}
    job_name, job_precision, job_batch = sizes["job"]
    job_backbone = None  # the job's network, kept from the measurements when built there
    for name in sizes["backbones"]:
        for precision in sizes["precisions"]:
            t0 = time.perf_counter()
            backbone = _build(name, precision)
            if (name, precision) == (job_name, job_precision):
                job_backbone = backbone
            print(f"{name} {precision} built in {time.perf_counter() - t0:.1f} s", flush=True)
            for batch in sizes["batches"]:
                rate = backbone_rate(backbone, batch, sizes["seconds"])
                alone[(name, precision, batch)] = rate
                print(f"  {name} {precision} batch {batch}: {rate:,.1f} frames/s", flush=True)
                results.append(
                    figure(
                        "gpu",
                        f"{device} {name} {precision} batch {batch}, network alone",
                        rate,
                        "frames/s",
                    )
                )
            del backbone
    name, precision, batch = sizes["job"]
    backbone = job_backbone or _build(name, precision)
    backbone_rate(backbone, batch, 0.0)  # traced before the clock starts
    rate = job_rate(backbone, batch, workers, *sizes["trailer"])
    resolution = sizes["trailer"][0]
    print(f"  shard job, {workers} decode workers: {rate:,.1f} frames/s", flush=True)
    results.append(
        figure(
            "gpu",
            f"{device} shard job, {workers} decode workers, {name} batch {batch}, {resolution}",
            rate,
            "frames/s",
        )
    )
    results.append(
        ratio("gpu", "shard job / network alone (same settings)", rate / alone[sizes["job"]])
    )
    print(f"gpu_check took {time.perf_counter() - started:.0f} s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke sizes even on a GPU")
    args = parser.parse_args(argv)
    print_table(run(args.quick), "GPU CHECK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
