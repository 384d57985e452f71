"""Snakemake planning time for an LMTD-9-sized trailer set (a figure, not a ratio).

Copies the repository's tracked and unignored files into a temporary folder (``git init``
there), points ``data.videos_dir`` at a folder of 4,021 empty files ``000001.mp4`` ...
(a dry run lists them but never opens them) and sets ``extraction.shards`` to 64, then
times ``snakemake -n``: config validation, trailer discovery, sharding and the DAG of
2 x 64 shard jobs + the report. The same dry run over an empty videos folder is timed
too (interpreter and Snakemake start-up, Snakefile parsing), so the difference is what
the 4,021 trailers cost to plan.

    .venv/bin/python benchmarks/bench_dag.py [--quick] [--trailers 4021] [--shards 64]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, Result, figure, median, print_table  # noqa: E402

BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("PYTHONPATH", None)
    return env


def copy_repo(dest: Path) -> Path:
    """Tracked and unignored files of the repository, as a fresh git repository."""
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listing):
        source = REPO / os.fsdecode(name)
        if not source.is_file():  # deleted in the work tree, or a directory
            continue
        target = dest / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def set_params(repo: Path, videos_dir: Path, shards: int) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["data"]["videos_dir"] = str(videos_dir)
    params["extraction"]["shards"] = int(shards)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def empty_videos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        (folder / f"{i:06d}.mp4").touch()
    return folder


def timed_tool(repo: Path, tool: str, *args: str) -> tuple[float, str]:
    """Seconds of one run of this venv's ``tool`` in ``repo``, and its output; fails loudly."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(BIN / tool), *args],
        cwd=repo,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        command = " ".join([tool, *args])
        raise RuntimeError(f"{command} failed ({result.returncode}):\n{output[-3000:]}")
    return seconds, output


def dry_run(repo: Path) -> tuple[float, int, str]:
    """Seconds of ``snakemake -n`` and the number of jobs it plans."""
    seconds, output = timed_tool(repo, "snakemake", "-n")
    # "Job stats:" table: a final "total  <n>" row
    totals = re.findall(r"^total\s+(\d+)\s*$", output, flags=re.MULTILINE)
    jobs = int(totals[-1]) if totals else 0
    return seconds, jobs, output


def run(
    quick: bool = False,
    trailers: int | None = None,
    shards: int | None = None,
    repeats: int | None = None,
    scale: tuple[int, ...] | None = None,
) -> list[Result]:
    """``snakemake -n`` for ``trailers`` (and each of ``scale``: e.g. 40,000) trailers."""
    n = trailers or (400 if quick else 4021)
    n_shards = shards or (8 if quick else 64)
    reps = repeats or (1 if quick else 2)
    more = scale if scale is not None else (() if quick else (40_000,))
    with tempfile.TemporaryDirectory(prefix="bench_dag_") as name:
        tmp = Path(name)
        repo = copy_repo(tmp / "repo")
        full = empty_videos(tmp / "videos", n)
        empty = empty_videos(tmp / "no-videos", 0)
        print(f"dag: snakemake -n, {n} empty trailer files, {n_shards} shards, in {repo}")
        times: dict[str, list[float]] = {"full": [], "empty": []}
        jobs = {}
        for r in range(reps):  # interleaved: the empty baseline beside each full plan
            for label, videos in (("full", full), ("empty", empty)):
                set_params(repo, videos, n_shards)
                seconds, jobs[label], _ = dry_run(repo)
                times[label].append(seconds)
                print(f"  run {r + 1} {label:5s} {seconds:7.2f} s, {jobs[label]} jobs")
        scaled = []
        for count in more:  # one dry run each: a figure for a larger archive
            videos = empty_videos(tmp / f"videos-{count}", count)
            set_params(repo, videos, n_shards)
            seconds, planned, _ = dry_run(repo)
            print(f"  {count} trailers: {seconds:7.2f} s, {planned} jobs")
            scaled.append(
                figure("dag", f"snakemake -n, {count} trailers, {n_shards} shards", seconds, "s")
            )
    full_s, empty_s = median(times["full"]), median(times["empty"])
    print(
        f"  {n} trailers: {full_s:.2f} s for {jobs['full']} jobs; no trailers: {empty_s:.2f} s "
        f"({jobs['empty']} jobs); planning the trailers: {full_s - empty_s:.2f} s"
    )
    return [
        figure("dag", f"snakemake -n, {n} trailers, {n_shards} shards", full_s, "s"),
        figure("dag", "jobs planned", jobs["full"], "jobs"),
        figure("dag", "snakemake -n, no trailers (start-up)", empty_s, "s"),
        *scaled,
    ]


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 trailers, 8 shards")
    parser.add_argument("--trailers", type=int, help="empty trailer files (default 4021)")
    parser.add_argument("--shards", type=int, help="extraction.shards (default 64)")
    parser.add_argument("--repeats", type=int, help="dry runs of each (default 2)")
    args = parser.parse_args(argv)
    results = run(args.quick, args.trailers, args.shards, args.repeats)
    print_table(results, "bench_dag")
    return results


if __name__ == "__main__":
    main()
