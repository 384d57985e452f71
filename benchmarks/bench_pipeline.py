"""A visual shard job on trailer-sized video against its two parts, ResNet-50 at 224.

Trailers: copies of the cached 1080p 150 s x264 trailer (``_trailers.py``), 116 frames
each. Backbone: ResNet-50, weights none (no download), TensorFlow on as many threads as
the job has decode workers (the ``visual_shard`` rule gives both its cores; default here:
every core of this machine). In one process, with one warm backbone:

  decode     ``probe`` + ``decode_frames`` (what the job's decode workers run), trailer
             after trailer: frames/s and CPU seconds per trailer;
  predict    ``Backbone.embed`` (``predict_on_batch``, batches of 32) on those frames,
             already in memory: frames/s;
  job        ``extract_visual_shard`` for the shard: decode workers = cores, frames of
             several trailers per network call (features/embedding.py);
  before     the same shard the way the job ran before cross-trailer batches: decode
             ahead in as many workers, ``Backbone.embed`` per trailer (its last batch part
             empty), same Parquet write. Timed interleaved with ``job``.

On this 2-core machine decoding and inference share the cores, so the best a job can do
is keep both busy: the job's time against decode alone (the issue's yardstick: the job's
frames/s over decoding's), against decode + predict one after the other (> 1: the overlap
gains) and against max(decode, predict) (the bound if each had its own cores).

    .venv/bin/python benchmarks/bench_pipeline.py [--quick] [--trailers 2] [--workers 2]
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
from _common import Result, figure, interleaved, median, print_table, ratio  # noqa: E402

FRAMES_CFG = {"start_s": 5.0, "end_s": 120.0, "count": 116, "step_ms": "exact"}
EXTRACTION_CFG = {"min_duration_s": 6.0}
BATCH_SIZE = 32  # params.yaml backbone.batch_size


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


def _job_per_trailer(videos: dict[str, Path], out: Path, backbone, workers: int) -> None:
    """The shard job's loop before cross-trailer batches: one trailer per embed call."""
    from moviegenre.features.shard_metadata import visual_metadata
    from moviegenre.features.shards import visual_table, write_table_atomic
    from moviegenre.features.trailer import decode_ahead, decode_for_embedding

    ids, stamps_out, feats_out = [], [], []

    def decode(trailer_id: str):
        return decode_for_embedding(videos[trailer_id], FRAMES_CFG, 6.0)

    for trailer_id, future in decode_ahead(videos, decode, workers):
        stamps, frames, _ = future.result()
        ids.append(trailer_id)
        stamps_out.append(stamps)
        feats_out.append(backbone.embed(frames, BATCH_SIZE))
    table = visual_table(ids, stamps_out, feats_out, backbone.dim)
    meta = visual_metadata({"name": backbone.name, "weights": "none"}, FRAMES_CFG, backbone.dim)
    write_table_atomic(table, out, meta)


def run(
    quick: bool = False, trailers: int | None = None, workers: int | None = None, repeats: int = 2
) -> list[Result]:
    from moviegenre.features.backbones import build_backbone
    from moviegenre.features.cores import available_cores
    from moviegenre.features.extract import extract_visual_shard
    from moviegenre.features.trailer import decode_for_embedding
    from moviegenre.runtime import configure_tensorflow

    workers = workers or available_cores()
    configure_tensorflow(threads=workers)
    name = "mobilenetv3small" if quick else "resnet50"
    backbone_cfg = {"name": name, "weights": "none", "batch_size": BATCH_SIZE}
    n = trailers or 2
    source = _trailers.trailer("180p", 12.0) if quick else _trailers.trailer("1080p", 150.0)
    label = f"{source.name.split('-')[1]}, {name}"
    print(_trailers.describe(source))
    print(f"decode workers and TensorFlow threads: {workers}")
    start = time.perf_counter()
    backbone = build_backbone(name, "none")
    backbone.embed(np.zeros((FRAMES_CFG["count"], 224, 224, 3), dtype=np.uint8))  # trace
    print(f"{name} built and traced in {time.perf_counter() - start:.1f} s")
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
            backbone.embed(frames, BATCH_SIZE)
        t_predict = time.perf_counter() - wall
        del decoded
        print(f"  predict_on_batch alone: {t_predict:.2f} s")

        def job() -> None:
            out = Path(tmp) / "job.parquet"
            statuses = extract_visual_shard(
                videos, out, out.with_suffix(".csv"), FRAMES_CFG, backbone_cfg,
                EXTRACTION_CFG, backbone, decode_workers=workers,
            )  # fmt: skip
            assert all(s.status == "ok" for s in statuses), statuses

        def before() -> None:
            _job_per_trailer(videos, Path(tmp) / "before.parquet", backbone, workers)

        times = interleaved(
            [("job (cross-trailer batches)", job), ("before (per-trailer batches)", before)],
            repeats,
        )
    t_job = median(times["job (cross-trailer batches)"])
    t_before = median(times["before (per-trailer batches)"])
    return [
        figure(
            "pipeline",
            f"job frames/s, {workers} decode workers ({label})",
            frames_total / t_job,
            "frames/s",
        ),  # fmt: skip
        figure(
            "pipeline",
            f"job frames/s before, per-trailer batches ({label})",
            frames_total / t_before,
            "frames/s",
        ),  # fmt: skip
        figure("pipeline", f"decode alone frames/s ({label})", frames_total / t_decode, "frames/s"),
        figure(
            "pipeline",
            f"predict_on_batch alone frames/s ({label})",
            frames_total / t_predict,
            "frames/s",
        ),
        figure("pipeline", f"decode CPU per trailer, 116 frames ({label})", cpu_decode, "s"),
        ratio("pipeline", "job / decode alone frames/s", t_decode / t_job),
        ratio("pipeline", "job before / decode alone frames/s", t_decode / t_before),
        ratio("pipeline", "before / job time: cross-trailer batches' gain", t_before / t_job),
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trailers", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="decode workers (cores)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved job runs each")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 2)
    print_table(run(args.quick, args.trailers, args.workers, repeats), "PIPELINE BENCHMARK")


if __name__ == "__main__":
    main()
