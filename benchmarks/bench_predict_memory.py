"""Peak memory of `moviegenre predict DIR --output out.csv` against the number of files.

    .venv/bin/python benchmarks/bench_predict_memory.py [--bundle models/bundle]
        [--videos data/synthetic/trailers] [--counts 30 300]

Run after `make run` (it reads that run's bundle and synthetic trailers). For each count a
folder of that many trailers is made from hard links to the videos (under new names, cycling
through them), and the real command runs in a fresh process with `--output` (results are
written as each trailer finishes, nothing is kept until the end); its peak RSS (psutil,
sampled every 20 ms, the process and its children) is reported with the ratio of the
largest count to the smallest: memory should stay flat with the number of files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, figure, print_table, ratio  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20


def _tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and its children (0 for ones gone meanwhile)."""
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def peak_rss(command: list[str]) -> tuple[int, float]:
    """(peak RSS in bytes, wall seconds) of a command, sampled every 20 ms."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, _tree_rss(process))
        except psutil.Error:
            pass
        time.sleep(0.02)
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode not in (0, 3):  # 3: predicted, some without sound
        raise RuntimeError(f"{command[:3]} exited {child.returncode}:\n{stderr[-2000:]}")
    return peak, time.perf_counter() - start


def folder_of(videos: list[Path], count: int, folder: Path) -> Path:
    """`count` trailers under new names, hard links (copies across file systems) cycling
    through `videos` (not symbolic links: predict counts a file once by its real path)."""
    folder.mkdir(parents=True)
    for i in range(count):
        source = videos[i % len(videos)]
        target = folder / f"{i:06d}{source.suffix}"
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    return folder


def run(bundle: Path, videos_dir: Path, counts: list[int]) -> list[Result]:
    videos = sorted(p for p in videos_dir.iterdir() if p.suffix in (".mp4", ".mkv", ".webm"))
    if not videos:
        raise SystemExit(f"no videos in {videos_dir}: run `make run` first")
    if not (bundle / "manifest.json").is_file():
        raise SystemExit(f"no bundle in {bundle}: run `make run` first")
    moviegenre = Path(sys.executable).parent / "moviegenre"
    results, peaks = [], {}
    with tempfile.TemporaryDirectory(prefix="bench_predict_memory_") as name:
        tmp = Path(name)
        for count in counts:
            folder = folder_of(videos, count, tmp / f"videos-{count}")
            out = tmp / f"out-{count}.csv"
            command = [str(moviegenre), "predict", str(folder), "--bundle", str(bundle)]
            command += ["--format", "csv", "--output", str(out)]
            peak, seconds = peak_rss(command)
            rows = out.read_text().count("\n") - 1
            if rows != count:
                raise RuntimeError(f"{out}: {rows} rows for {count} files")
            peaks[count] = peak
            print(f"  {count} files: peak RSS {peak / MIB:,.0f} MiB, {seconds:.1f} s", flush=True)
            results.append(
                figure("predict_mem", f"peak RSS, {count} files, --output csv", peak / MIB, "MiB")
            )
    low, high = min(counts), max(counts)
    results.append(
        ratio("predict_mem", f"peak RSS {high} files / {low} files", peaks[high] / peaks[low])
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "models" / "bundle")
    parser.add_argument("--videos", type=Path, default=REPO / "data" / "synthetic" / "trailers")
    parser.add_argument("--counts", type=int, nargs="+", default=[30, 300])
    args = parser.parse_args()
    print_table(run(args.bundle, args.videos, args.counts))


if __name__ == "__main__":
    main()
