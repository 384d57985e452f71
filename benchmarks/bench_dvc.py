"""DVC's bookkeeping at LMTD-9 size: `dvc status` and a no-op `dvc repro` (figures).

In a copy of the repository (as ``bench_dag.py`` makes it) with ``data.videos_dir``
pointing at 4,021 empty trailer files and ``extraction.shards: 64``, the outputs of the
``features`` stage are put in place as a finished Snakemake run leaves them: a visual
and an audio shard plus their status CSVs per shard (128 Parquet files, 128 CSVs), the
extraction report and summary. ``dvc commit`` records them in ``dvc.lock``; then timed:

  ``dvc status features``                 what a user runs to see what is out of date;
  ``dvc repro --single-item features``    must find nothing to do (checked: no command run).

The shards here are small placeholders (real ones hold ~1.1 GB in all, see ``storage``):
DVC hashes a file's bytes once, at ``dvc commit``, and afterwards trusts its state
database (size, mtime, inode), so neither timed command reads them. For the same
reason the empty trailer files stand for real ones here: what is timed is the walk
over 4,021 files and the lock comparison.

    .venv/bin/python benchmarks/bench_dvc.py [--quick] [--trailers 4021] [--shards 64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))


from _common import Result, figure, median, print_table  # noqa: E402
from bench_dag import copy_repo, empty_videos, set_params, timed_tool  # noqa: E402

from moviegenre import paths  # noqa: E402
from moviegenre.features.shards import group_by_shard  # noqa: E402
from moviegenre.features.store import FeatureStore  # noqa: E402


def place_outputs(repo: Path, trailer_ids: list[str], n_shards: int, backbone: str) -> int:
    """The features stage's outputs for these trailers, as a finished run leaves them."""
    shards = group_by_shard(trailer_ids, n_shards)
    visual = repo / paths.VISUAL_FEATURES / backbone
    audio = repo / paths.AUDIO_FEATURES
    visual.mkdir(parents=True, exist_ok=True)
    audio.mkdir(parents=True, exist_ok=True)
    for shard, ids in shards.items():
        table = pa.table({"trailer_id": ids})
        for folder in (visual, audio):
            pq.write_table(table, folder / f"shard-{shard}.parquet")
            rows = "".join(f"{i},{i}.mp4,ok\n" for i in ids)
            (folder / f"shard-{shard}.status.csv").write_text("trailer_id,file,status\n" + rows)
    (repo / paths.EXTRACTION_REPORT).write_text(
        "trailer_id,status\n" + "".join(f"{i},ok\n" for i in trailer_ids)
    )
    (repo / paths.EXTRACTION_SUMMARY).write_text('{"text": "placeholder"}\n')
    # the feature store (a persistent output of the stage): one small entry per trailer
    # and modality, so DVC hashes as many store files as a real run leaves
    for kind in ("visual", "audio"):
        store = FeatureStore(repo / paths.FEATURE_STORE, kind, {"bench": True}, "bench")
        for i in trailer_ids:
            store.put(f"{int(i):064x}", {"status": "ok"}, values=np.zeros(4, np.float16))
    return len(shards)


def run(
    quick: bool = False,
    trailers: int | None = None,
    shards: int | None = None,
    repeats: int | None = None,
) -> list[Result]:
    import yaml

    n = trailers or (200 if quick else 4021)
    n_shards = shards or (8 if quick else 64)
    reps = repeats or (1 if quick else 3)
    with tempfile.TemporaryDirectory(prefix="bench_dvc_") as name:
        tmp = Path(name)
        repo = copy_repo(tmp / "repo")
        videos = empty_videos(tmp / "videos", n)
        set_params(repo, videos, n_shards)
        backbone = yaml.safe_load((repo / "params.yaml").read_text())["backbone"]["name"]
        ids = [f"{i:06d}" for i in range(1, n + 1)]
        made = place_outputs(repo, ids, n_shards, backbone)
        seconds, _ = timed_tool(repo, "dvc", "commit", "-f", "features")
        print(f"dvc: {n} trailers, {made} shards in place; dvc commit features: {seconds:.2f} s")
        status, repro = [], []
        for r in range(reps):
            seconds, out = timed_tool(repo, "dvc", "status", "features")
            status.append(seconds)
            print(
                f"  run {r + 1} dvc status features        {seconds:7.2f} s: {out.strip()[-60:]!r}"
            )
            if "up to date" not in out:
                raise RuntimeError(f"features is out of date after dvc commit:\n{out[-2000:]}")
            seconds, out = timed_tool(repo, "dvc", "repro", "--single-item", "features")
            repro.append(seconds)
            print(
                f"  run {r + 1} dvc repro --single-item    {seconds:7.2f} s: {out.strip()[-90:]!r}"
            )
            if "didn't change" not in out:
                raise RuntimeError(f"dvc repro was not a no-op:\n{out[-2000:]}")
    return [
        figure("dvc", f"dvc status features, {n} trailers, {n_shards} shards", median(status), "s"),
        figure("dvc", f"no-op dvc repro features, {n} trailers", median(repro), "s"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trailers", type=int)
    parser.add_argument("--shards", type=int)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args(argv)
    print_table(run(args.quick, args.trailers, args.shards, args.repeats), "bench_dvc")


if __name__ == "__main__":
    main()
