"""A visual shard job on trailer-sized video against its two parts, ResNet-50 at 224.

Trailers: copies of the cached 1080p 150 s x264 trailer (``_trailers.py``), 116 frames
each. Backbone: ResNet-50, weights none (no download), TensorFlow on 2 threads as the
``visual_shard`` rule gives it. In one process, with one warm backbone:

  decode     ``probe`` + ``decode_frames`` (what the job's decoder threads run), trailer
             after trailer: frames/s and CPU seconds per trailer;
  predict    ``Backbone.embed`` (``predict_on_batch``, batches of 32) on those frames,
             already in memory: frames/s;
  job        ``extract_visual_shard`` for the shard, for each ``decode_threads`` tried
             (trailers decoding ahead of the network while it runs).

On this 2-core machine decoding and inference share the cores, so the best a job can do
is keep both busy: the job's time against decode + predict run one after the other
(> 1: the overlap gains) and against max(decode, predict) (the bound if each had its
own cores, as on a GPU node).

    .venv/bin/python benchmarks/bench_pipeline.py [--quick] [--trailers 2] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _trailers  # noqa: E402
from _common import Result, figure, print_table, ratio  # noqa: E402

FRAMES_CFG = {"start_s": 5.0, "end_s": 120.0, "count": 116, "step_ms": "exact"}
EXTRACTION_CFG = {"min_duration_s": 6.0}
TF_THREADS = 2  # workflow/rules/visual.smk: threads: 2


def _trailer_copies(folder: Path, source: Path, count: int) -> dict[str, Path]:
    """``count`` names for one file (hard links, else symlinks): no extra disk, same bytes."""
    videos = {}
    for i in range(count):
        link = folder / f"{i + 1:06d}.mp4"
        try:
            os.link(source, link)
        except OSError:
            link.symlink_to(source)
        videos[f"{i + 1:06d}"] = link
    return videos


def run(
    quick: bool = False, trailers: int | None = None, threads: tuple[int, ...] = (1, 2)
) -> list[Result]:
    from moviegenre.features.backbones import build_backbone
    from moviegenre.features.extract import extract_visual_shard
    from moviegenre.features.trailer import decode_for_embedding
    from moviegenre.runtime import configure_tensorflow

    configure_tensorflow(threads=TF_THREADS)
    name = "mobilenetv3small" if quick else "resnet50"
    backbone_cfg = {"name": name, "weights": "none", "batch_size": 32}
    n = trailers or 2
    source = _trailers.trailer("180p", 12.0) if quick else _trailers.trailer("1080p", 150.0)
    label = f"{source.name.split('-')[1]}, {name}"
    print(_trailers.describe(source))
    start = time.perf_counter()
    backbone = build_backbone(name, "none")
    backbone.embed(np.zeros((FRAMES_CFG["count"], 224, 224, 3), dtype=np.uint8))  # trace
    print(f"{name} built and traced in {time.perf_counter() - start:.1f} s")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        videos = _trailer_copies(Path(tmp), source, n)
        frames_total = n * FRAMES_CFG["count"]

        wall, cpu, decoded = time.perf_counter(), time.process_time(), []
        for path in videos.values():
            decoded.append(decode_for_embedding(path, FRAMES_CFG, 6.0)[1])
        t_decode = time.perf_counter() - wall
        cpu_decode = (time.process_time() - cpu) / n
        print(f"  decode alone: {t_decode:.2f} s, {cpu_decode:.2f} CPU-s per trailer")

        wall = time.perf_counter()
        for frames in decoded:
            backbone.embed(frames, backbone_cfg["batch_size"])
        t_predict = time.perf_counter() - wall
        del decoded
        print(f"  predict_on_batch alone: {t_predict:.2f} s")

        jobs = {}
        for count in threads:
            cfg = dict(EXTRACTION_CFG, decode_threads=count)
            out = Path(tmp) / f"shard-{count}.parquet"
            wall = time.perf_counter()
            statuses = extract_visual_shard(
                videos, out, out.with_suffix(".csv"), FRAMES_CFG, backbone_cfg, cfg, backbone
            )
            jobs[count] = time.perf_counter() - wall
            assert all(s.status == "ok" for s in statuses), statuses
            print(f"  job, decode_threads={count}: {jobs[count]:.2f} s")
    best = min(jobs, key=jobs.get)
    t_job = jobs[best]
    results += [
        figure(
            "pipeline",
            f"job frames/s, decode_threads={best} ({label})",
            frames_total / t_job,
            "frames/s",
        ),
        figure("pipeline", f"decode alone frames/s ({label})", frames_total / t_decode, "frames/s"),
        figure(
            "pipeline",
            f"predict_on_batch alone frames/s ({label})",
            frames_total / t_predict,
            "frames/s",
        ),
        figure("pipeline", f"decode CPU per trailer, 116 frames ({label})", cpu_decode, "s"),
        ratio(
            "pipeline",
            "(decode + predict) serial / job: overlap gain",
            (t_decode + t_predict) / t_job,
        ),
        ratio(
            "pipeline",
            "max(decode, predict) / job: 1 = as fast as the slower part",
            max(t_decode, t_predict) / t_job,
        ),
    ]
    for count, seconds in sorted(jobs.items()):
        if count != best:
            results.append(
                ratio("pipeline", f"job decode_threads={count} / ={best} time", seconds / t_job)
            )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trailers", type=int, default=None)
    parser.add_argument("--threads", default="1,2", help="decode_threads values to try")
    args = parser.parse_args(argv)
    threads = tuple(int(x) for x in args.threads.split(","))
    print_table(run(args.quick, args.trailers, threads), "PIPELINE BENCHMARK")


if __name__ == "__main__":
    main()
