"""Time and peak memory of `import_lmtd` on fabricated LMTD-9-shaped data.

    .venv/bin/python benchmarks/bench_import.py [--trailers 300] [--shards 8]

Writes a Python-2-style pickle of float32 [99..240, 2048] arrays (as the published
lmtd9_resnet152.pickle) and a database.db to a temporary folder, then runs, each in a fresh
process so peak RSS belongs to that step alone: the imports only (baseline), loading the
pickle, and the whole import. Figures are scaled to 1,000 and to 4,021 trailers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(mode: str, work: Path, shards: int, trailers: int, seed: int) -> None:
    from moviegenre.data.lmtd import import_lmtd, load_feature_pickle

    start = time.perf_counter()
    if mode == "fabricate":
        count = _fabricate(work, trailers, seed)
    elif mode == "load":
        features = load_feature_pickle(work / "lmtd9_resnet152.pickle")
        count = len(features)
    elif mode == "import":
        report = import_lmtd(
            work / "database.db", work / "lmtd9_resnet152.pickle", None, shards, work / "out"
        )
        count = report.n_imported
    else:
        count = 0
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mib": _peak_rss_mib(), "count": count}))


def _peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM (Linux) belongs to the process's own address
    space; ru_maxrss can carry over the parent's size across fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(mode: str, work: Path, args: argparse.Namespace) -> dict:
    options = ["--shards", str(args.shards), "--trailers", str(args.trailers)]
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--work", str(work), *options],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fabricate(work: Path, trailers: int, seed: int) -> int:
    import numpy as np

    from moviegenre.data.label_writer import write_lmtd_db

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from lmtd_fixtures import write_lmtd_style_pickle  # the published file's format

    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(2, 100_000), size=trailers, replace=False))
    labels = (rng.random((trailers, 9)) < 0.25).astype(np.int64)
    labels[np.arange(trailers), rng.integers(0, 9, trailers)] = 1
    write_lmtd_db(work / "database.db", ids, rng.integers(0, 3, trailers), labels)
    features = {
        f"{i:06d}": rng.gamma(1.0, 0.5, size=(int(rng.integers(99, 241)), 2048)).astype(np.float32)
        for i in ids
    }
    write_lmtd_style_pickle(work / "lmtd9_resnet152.pickle", features)
    return sum(len(v) for v in features.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trailers", type=int, default=300)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=["fabricate", "baseline", "load", "import"])
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.work, args.shards, args.trailers, args.seed)
        return

    with tempfile.TemporaryDirectory(prefix="bench-lmtd-") as tmp:
        work = Path(tmp)
        made = _run("fabricate", work, args)
        frames = made["count"]
        pickle_mib = (work / "lmtd9_resnet152.pickle").stat().st_size / 2**20
        print(
            f"fabricated {args.trailers} trailers, {frames} frames, pickle {pickle_mib:.0f} MiB "
            f"({made['seconds']:.1f} s)"
        )
        base = _run("baseline", work, args)
        load = _run("load", work, args)
        full = _run("import", work, args)
        shards_mib = sum(p.stat().st_size for p in (work / "out").rglob("*.parquet")) / 2**20
    scale = 1000 / args.trailers
    extra_load = load["peak_mib"] - base["peak_mib"]
    extra_full = full["peak_mib"] - base["peak_mib"]
    print(f"baseline RSS (imports only): {base['peak_mib']:.0f} MiB")
    print(
        f"load pickle:  {load['seconds']:.2f} s, peak RSS {load['peak_mib']:.0f} MiB "
        f"(+{extra_load:.0f} MiB = {extra_load / pickle_mib:.2f} x pickle)"
    )
    print(
        f"full import:  {full['seconds']:.2f} s, peak RSS {full['peak_mib']:.0f} MiB "
        f"(+{extra_full:.0f} MiB = {extra_full / pickle_mib:.2f} x pickle), "
        f"{args.shards} shards {shards_mib:.0f} MiB"
    )
    print(
        f"per 1,000 trailers: import {full['seconds'] * scale:.1f} s, "
        f"+{extra_full * scale:.0f} MiB peak over baseline"
    )
    print(
        f"projected for LMTD-9 (4,021 trailers): import {full['seconds'] * scale * 4.021:.0f} s, "
        f"peak about {base['peak_mib'] + extra_full * scale * 4.021:.0f} MiB"
    )


if __name__ == "__main__":
    main()
