"""Every benchmark in one command, ending with one summary table of ratios and figures.

    .venv/bin/python benchmarks/run_all.py            # default sizes (about 5-10 minutes)
    .venv/bin/python benchmarks/run_all.py --quick    # smoke test: tiny sizes, ~1 minute
    .venv/bin/python benchmarks/run_all.py --only decode,storage

Benchmarks (see benchmarks/README.md for what each ratio means):
  decode   bench_decode.py: seek per timestamp / one sequential pass (130 s trailer, 1 fps)
  frames   bench_frames.py: 1080p 150 s x264 trailer: OpenCV seek+read+resize per timestamp
           and one full pass / skipping non-reference frames; decoder threads vs decoders
  audio    bench_audio.py: the seed's mp3 + librosa.load chain / our decode, with features
  pipeline bench_pipeline.py: ResNet-50 shard job on 1080p trailers vs decode alone and
           predict_on_batch alone; decode_threads 1 vs 2
  extract  bench_extract.py: backbone per trailer / per shard; eager call / predict_on_batch;
           serial decode-then-embed / decode threads overlapping inference
  storage  bench_storage.py: float32 / float16 Parquet shards (bytes, read time), LMTD-9 sizes
  dag      bench_dag.py: `snakemake -n` seconds for 4,021 and 40,000 trailers, 64 shards
  dvc      bench_dvc.py: `dvc status` and a no-op `dvc repro` of the features stage with
           4,021 trailers' shards and reports in place
  incremental bench_incremental.py: the real `snakemake` on 8 trailers of 105 s (> 1 MB):
           full run vs touch / move / add one / change one (trailers decoded, time ratios)

Every comparison is timed side by side in one process, interleaved, and reported as a ratio
of medians: the machine is shared, absolute times are not comparable between runs.
Exit status 1 when a benchmark failed (the others still run and are tabled).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SUMMARY_HEADER, Result, figure, print_table, ratio  # noqa: E402

BENCHES = (
    "decode",
    "frames",
    "audio",
    "pipeline",
    "extract",
    "storage",
    "dag",
    "dvc",
    "incremental",
)


class _Tee(io.TextIOBase):
    """Write to the terminal and keep a copy (to parse a benchmark's printed result)."""

    def __init__(self, stream) -> None:
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.stream.flush()
        return self.copy.write(text)


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    if not found:
        raise RuntimeError(f"bench_decode output has no line matching {pattern!r}")
    return float(found.group(1))


def run_decode(quick: bool) -> list[Result]:
    """bench_decode.main, with its printed medians and ratio turned into results."""
    import bench_decode

    argv = ["--duration", "20", "--repeats", "1"] if quick else ["--repeats", "5"]
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        bench_decode.main(argv)
    text = tee.copy.getvalue()
    sequential = _number(r"\(a\) sequential pass, median: ([0-9.]+) s", text)
    seeking = _number(r"\(b\) seek per timestamp, median: ([0-9.]+) s", text)
    duration = "20 s" if quick else "130 s"
    return [
        ratio("decode", f"seek per timestamp / sequential pass ({duration})", seeking / sequential),
        figure("decode", "sequential pass, 116 frames at 224x224", sequential, "s"),
    ]


def run_frames(quick: bool) -> list[Result]:
    import bench_frames

    return bench_frames.run(quick)


def run_audio(quick: bool) -> list[Result]:
    import bench_audio

    return bench_audio.run(quick)


def run_pipeline(quick: bool) -> list[Result]:
    import bench_pipeline

    return bench_pipeline.run(quick)


def run_extract(quick: bool) -> list[Result]:
    import bench_extract

    return bench_extract.run(quick)


def run_storage(quick: bool) -> list[Result]:
    import bench_storage

    return bench_storage.run(quick)


def run_dag(quick: bool) -> list[Result]:
    import bench_dag

    return bench_dag.run(quick)


def run_incremental(quick: bool) -> list[Result]:
    import bench_incremental

    return bench_incremental.run(quick)


def run_dvc(quick: bool) -> list[Result]:
    import bench_dvc

    return bench_dvc.run(quick)


RUNNERS = {
    "decode": run_decode,
    "frames": run_frames,
    "audio": run_audio,
    "pipeline": run_pipeline,
    "extract": run_extract,
    "storage": run_storage,
    "dag": run_dag,
    "dvc": run_dvc,
    "incremental": run_incremental,
}


def _machine() -> str:
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return (
        f"{platform.node()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument(
        "--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}"
    )
    args = parser.parse_args(argv)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHES}")

    quick = args.quick
    started = time.perf_counter()
    label = " (quick)" if quick else ""
    print(f"moviegenre benchmarks{label}, {dt.datetime.now():%Y-%m-%d %H:%M}")
    print(_machine(), flush=True)
    results: list[Result] = []
    failed: list[str] = []
    seconds: dict[str, float] = {}
    for name in chosen:
        print(f"\n##### {name} #####", flush=True)
        start = time.perf_counter()
        try:
            results += RUNNERS[name](quick)
        except Exception:  # noqa: BLE001 - report, run the rest, fail at the end
            traceback.print_exc()
            failed.append(name)
        seconds[name] = time.perf_counter() - start
    print(
        "\nwall time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
        + f"; total {time.perf_counter() - started:.0f} s"
    )
    title = SUMMARY_HEADER + (" (quick: sizes too small to read anything into)" if quick else "")
    print_table(results, title)
    print(f"load average at the end: {_machine().rsplit('load average ', 1)[-1]}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
