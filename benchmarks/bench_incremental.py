"""What a rerun costs with the feature store: the real `snakemake` on trailer-sized files.

One shard of 8 trailers of 105 s (each well over Snakemake's 1 MB checksum limit, so it
compares input times, as with real trailers) in a copy of the repository, default frame
and audio settings, MobileNetV3-Small with offline weights. Runs, in this order:

  full      extraction from nothing (empty feature store);
  touch     every trailer touched (same bytes, new mtime): the shard jobs rerun;
  move      the trailer folder renamed and data.videos_dir pointed at it;
  add one   a 9th trailer copied in;
  change    one trailer's bytes replaced by another encoding.

For each: trailers decoded per modality (this run's "extracted" in
results/extraction_summary.json), wall time relative to the full run, and whether every
unchanged trailer's rows are bit-identical to the full run's. Targets (issue 19): touch
and move decode 0 and take <= 25 % of the full run; add one and change decode exactly 1.
Each scenario runs once (a snakemake run is minutes of state: it cannot be interleaved).

    .venv/bin/python benchmarks/bench_incremental.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, figure, print_table, ratio  # noqa: E402
from _trailers import CACHE, write_trailer  # noqa: E402
from bench_dag import copy_repo, timed_tool  # noqa: E402

from moviegenre import paths  # noqa: E402
from moviegenre.features.shards import read_audio_shard, read_visual_shard  # noqa: E402

SIZE = (320, 180)  # 180p: decoding is cheap next to real trailers (1080p: ~19 CPU-s each)
SNAKEMAKE = ("--cores", "2", "--resources", "gpu=1")


def trailers(count: int, duration_s: float, seed0: int = 0) -> list[Path]:
    """Cached benchmark trailers (written once into benchmarks/.cache/)."""
    folder = CACHE / "incremental"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in range(seed0, seed0 + count):
        path = folder / f"trailer-{SIZE[0]}x{SIZE[1]}-{duration_s:g}s-seed{seed}.mp4"
        if not path.exists():
            write_trailer(path, SIZE, duration_s, seed)
        out.append(path)
    return out


def _set_params(repo: Path, videos_dir: Path) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["data"]["videos_dir"] = str(videos_dir)
    params["extraction"]["shards"] = 1
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def features(repo: Path) -> dict[str, dict[str, bytes]]:
    """Trailer id -> {visual, audio}: the raw bytes of its rows, for bit-identity checks."""
    visual_dir = repo / paths.VISUAL_FEATURES / "mobilenetv3small"
    visual = read_visual_shard(paths.shard_file(visual_dir, "0000"))
    out: dict[str, dict[str, bytes]] = {}
    for i, trailer_id in enumerate(visual.trailer_ids):
        rows = visual.of(i)
        stamps = visual.timestamps[visual.offsets[i] : visual.offsets[i + 1]]
        out.setdefault(trailer_id, {})["visual"] = rows.tobytes() + stamps.tobytes()
    ids, vectors, silent, _ = read_audio_shard(repo / paths.audio_shard("0000"))
    for trailer_id, vector, quiet in zip(ids, vectors, silent, strict=True):
        audio = np.asarray(vector).tobytes() + bytes([bool(quiet)])
        out.setdefault(trailer_id, {})["audio"] = audio
    return out


def extract(repo: Path) -> tuple[float, dict[str, int]]:
    """One real snakemake run: seconds, and this run's extracted count per modality."""
    started = time.time_ns()
    seconds, output = timed_tool(repo, "snakemake", *SNAKEMAKE)
    summary_path = repo / paths.EXTRACTION_SUMMARY
    summary = json.loads(summary_path.read_text())
    decoded = {stage: counts["extracted"] for stage, counts in summary["stages"].items()}
    if summary_path.stat().st_mtime_ns < started:  # no job ran (files under 1 MB: checksums)
        print("    no job ran", flush=True)
        return seconds, dict.fromkeys(decoded, 0)
    print(f"    {summary['text']}", flush=True)
    return seconds, decoded


def run(quick: bool = False, count: int = 8, duration_s: float = 105.0) -> list[Result]:
    if quick:  # a smoke test: 2 short trailers, touch and add one only
        count, duration_s = 2, 12.0
    files = trailers(count + 1, duration_s)
    (changed_bytes,) = trailers(1, duration_s, seed0=1000)
    sizes = [f.stat().st_size for f in files]
    print(
        f"  {count} trailers of {duration_s:g} s, {SIZE[0]}x{SIZE[1]},"
        f" {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB each; one shard",
        flush=True,
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as tmp:
        repo = copy_repo(Path(tmp) / "repo")
        videos = Path(tmp) / "videos"
        videos.mkdir()
        for i, source in enumerate(files[:count]):
            shutil.copy(source, videos / f"{i + 1:06d}.mp4")
        _set_params(repo, videos)

        full_s, decoded = extract(repo)
        print(f"  full      {full_s:7.1f} s  decoded {decoded}", flush=True)
        reference = features(repo)
        results.append(
            figure("incremental", "full run: trailers decoded", decoded["visual"], "trailers")
        )

        def scenario(name: str, expect: int, unchanged: set[str]) -> None:
            seconds, decoded = extract(repo)
            now = features(repo)
            identical = all(now[t] == reference[t] for t in unchanged)
            print(
                f"  {name:9} {seconds:7.1f} s  ({seconds / full_s:.0%} of full)  decoded"
                f" {decoded}  unchanged trailers bit-identical: {identical}",
                flush=True,
            )
            worst = max(decoded.values())
            note = f"target {expect}; unchanged rows identical: {identical}"
            results.append(
                figure("incremental", f"{name}: trailers decoded", worst, "trailers", note)
            )
            results.append(ratio("incremental", f"{name}: wall time / full run", seconds / full_s))

        ids = set(reference)
        now_ns = time.time_ns()
        for path in videos.iterdir():
            os.utime(path, ns=(now_ns, now_ns))
        scenario("touch", 0, ids)

        if not quick:
            moved = Path(tmp) / "moved"
            videos.rename(moved)
            _set_params(repo, moved)
            scenario("move", 0, ids)
            videos = moved

        shutil.copy(files[count], videos / f"{count + 1:06d}.mp4")
        scenario("add one", 1, ids)

        if not quick:
            shutil.copy(changed_bytes, videos / "000001.mp4")
            scenario("change", 1, ids - {"000001"})
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short trailers: a smoke test")
    args = parser.parse_args(argv)
    print_table(run(args.quick))


if __name__ == "__main__":
    main()
