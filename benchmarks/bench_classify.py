"""`moviegenre classify` (the Snakemake DAG) against `moviegenre predict` on the same files.

    .venv/bin/python benchmarks/bench_classify.py [--bundle models/bundle]
        [--videos data/synthetic/trailers] [--count 60] [--shards 3] [--cores 2]

Run after `make run` (it reads that run's bundle and synthetic trailers, which the run's
extraction put in the feature store). Three runs on one folder of ``count`` of them, one
after the other in this process:

- predict: one process, every trailer decoded;
- classify, empty store: a working folder of its own, so every trailer is decoded, by
  ``shards`` shard jobs (Snakemake, process start-up and model loading once per shard);
- classify, extracted folder: the repository's working folder, whose feature store holds
  these trailers, so nothing is decoded.

Printed: each run's wall time, the decoded counts from the summary, the two ratios, and
the largest probability difference between the tables and predict's output.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, figure, print_table, ratio  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 3):  # 3: predicted, some without sound
        raise RuntimeError(f"{command[:3]} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def probabilities(path: Path) -> dict[str, list[float]]:
    """File name -> its probabilities, from a predict CSV or a classify table."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    genres = [c for c in rows[0] if c and c[0].isupper() and not c.endswith("_threshold")]
    return {Path(r["path"]).name: [float(r[g]) for g in genres] for r in rows if r[genres[0]]}


def largest_difference(a: dict[str, list[float]], b: dict[str, list[float]]) -> float:
    if set(a) != set(b):
        raise RuntimeError(f"different files: {sorted(set(a) ^ set(b))[:5]}")
    return max(abs(x - y) for name in a for x, y in zip(a[name], b[name], strict=True))


def run(bundle: Path, videos_dir: Path, count: int, shards: int, cores: int) -> list[Result]:
    videos = sorted(p for p in videos_dir.iterdir() if p.suffix in (".mp4", ".mkv", ".webm"))
    if len(videos) < count or not (bundle / "manifest.json").is_file():
        raise SystemExit(f"need {count} videos in {videos_dir} and a bundle: run `make run`")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_classify_") as name:
        tmp = Path(name)
        folder = tmp / "archive"
        folder.mkdir()
        for video in videos[:count]:
            os.link(video, folder / video.name)
        predicted = tmp / "predict.csv"
        predict = [str(BIN / "moviegenre"), "predict", str(folder), "--bundle", str(bundle)]
        predict += ["--format", "csv", "--output", str(predicted), "--threads", str(cores)]
        seconds = {"predict": timed(predict, tmp)}
        decoded = {}
        for case, cwd in (("empty store", tmp / "fresh"), ("extracted folder", REPO)):
            cwd.mkdir(exist_ok=True)
            out = tmp / f"out-{case.replace(' ', '-')}"
            command = [str(BIN / "moviegenre"), "classify", str(folder), "--bundle", str(bundle)]
            command += ["--out", str(out), "--shards", str(shards), "--", "--cores", str(cores)]
            seconds[case] = timed(command, cwd)
            summary = json.loads((out / "summary.json").read_text())
            decoded[case] = summary["features"]["visual"].get("extracted", 0)
            gap = largest_difference(probabilities(out / "genres.csv"), probabilities(predicted))
            print(f"  classify, {case}: {seconds[case]:.1f} s, {decoded[case]} decoded,"
                  f" largest |p - predict's p| {gap:.1e}", flush=True)  # fmt: skip
            results.append(
                figure("classify", f"classify, {case}: trailers decoded", decoded[case], "")
            )
            results.append(  # in units of 1e-7: the table prints no exponent
                figure("classify", f"classify, {case}: largest |p - predict|", gap / 1e-7, "e-7")
            )
        print(f"  predict: {seconds['predict']:.1f} s", flush=True)
        for case, value in seconds.items():
            results.append(figure("classify", f"{case} wall, {count} trailers", value, "s"))
        results.append(
            ratio(
                "classify",
                f"classify ({shards} shards, empty store) / predict",
                seconds["empty store"] / seconds["predict"],
            )
        )
        results.append(
            ratio(
                "classify",
                "classify, extracted folder / empty store",
                seconds["extracted folder"] / seconds["empty store"],
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "models" / "bundle")
    parser.add_argument("--videos", type=Path, default=REPO / "data" / "synthetic" / "trailers")
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print_table(
        run(args.bundle.resolve(), args.videos.resolve(), args.count, args.shards, args.cores)
    )


if __name__ == "__main__":
    main()
