"""Visual shard storage: float16 (what shards.py writes) vs float32, measured and extrapolated.

Writes the same CNN-like features (ReLU of a smooth low-rank product: non-negative, about
half zeros, correlated across frames and channels, like pooled ResNet features; not pure
noise, which would not compress at all) as two Parquet shards with the project's writer:
``visual_table`` (float16) and the same layout with a float32 list column, both zstd.
Then times reading each back with ``read_visual_shard``, interleaved, and scales the
bytes to LMTD-9: 4,021 trailers x 240 frames x 2048 (the padded data set array) and
4,021 x 116 frames (what the extraction writes).

    .venv/bin/python benchmarks/bench_storage.py [--quick] [--trailers 20] [--repeats 5]
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

from _common import Result, figure, interleaved, median, print_table, ratio  # noqa: E402

LMTD_TRAILERS = 4021
LMTD_MAX_FRAMES = 240
EXTRACTED_FRAMES = 116
DIM = 2048


def cnn_like_features(
    n_trailers: int, n_frames: int, dim: int = DIM, rank: int = 24, seed: int = 0
) -> list[np.ndarray]:
    """float32 [n_frames, dim] per trailer: relu(smooth latent path @ loadings + bias)."""
    rng = np.random.default_rng(seed)
    loadings = rng.standard_normal((rank, dim)).astype(np.float32) / np.sqrt(rank)
    bias = rng.normal(-0.1, 0.3, size=dim).astype(np.float32)
    scale = rng.gamma(2.0, 0.5, size=dim).astype(np.float32)  # channels differ in range
    out = []
    kernel = np.ones(5, dtype=np.float32) / 5
    for _ in range(n_trailers):
        steps = rng.standard_normal((n_frames + 4, rank)).astype(np.float32)
        # smooth over time (moving average) with scene cuts: shots hold similar features
        path = np.stack([np.convolve(steps[:, k], kernel, mode="valid") for k in range(rank)], 1)
        cuts = np.sort(rng.choice(n_frames, size=max(1, n_frames // 10), replace=False))
        for start, stop in zip(cuts, list(cuts[1:]) + [n_frames], strict=True):
            path[start:stop] += rng.standard_normal(rank).astype(np.float32)
        feats = np.maximum(path[:n_frames] @ loadings + bias, 0.0) * scale
        out.append(feats.astype(np.float32))
    return out


def _float32_table(ids, stamps, feats, dim: int) -> pa.Table:
    """The visual shard layout with a float32 list column instead of float16."""
    from moviegenre.features.shards import visual_table

    table16 = visual_table(ids, stamps, [f.astype(np.float16) for f in feats], dim)
    flat = np.concatenate([f.reshape(-1) for f in feats]).astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dim)
    return table16.set_column(3, pa.field("features", column.type), column)


def run(quick: bool = False, trailers: int | None = None, repeats: int | None = None):
    from moviegenre.features.shards import read_visual_shard, visual_table, write_table_atomic

    n = trailers or (4 if quick else 20)
    reps = repeats or (2 if quick else 5)
    frames = EXTRACTED_FRAMES
    feats = cnn_like_features(n, frames)
    ids = [f"{i + 1:06d}" for i in range(n)]
    stamps = [5.0 + np.arange(frames, dtype=np.float32) for _ in range(n)]
    zeros = float(np.mean(np.concatenate(feats) == 0))
    print(f"storage: {n} trailers x {frames} frames x {DIM}, {100 * zeros:.0f}% zeros")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench_storage_") as name:
        tmp = Path(name)
        paths = {"float16": tmp / "f16.parquet", "float32": tmp / "f32.parquet"}
        tables = {
            "float16": visual_table(ids, stamps, [f.astype(np.float16) for f in feats], DIM),
            "float32": _float32_table(ids, stamps, feats, DIM),
        }
        for kind in ("float16", "float32"):
            write_table_atomic(tables[kind], paths[kind], {"kind": "visual", "dim": DIM})
        size = {kind: paths[kind].stat().st_size for kind in paths}

        loaded = {}

        # each timed run reads `reads` times: single reads of a few ms are all noise
        reads = 2 if quick else 5

        def reader(kind: str):
            def read() -> None:
                for _ in range(reads):
                    loaded[kind] = read_visual_shard(paths[kind]).features

            return read

        def ids_only() -> None:
            for _ in range(reads):
                loaded["ids"] = pq.read_table(paths["float16"], columns=["trailer_id"])

        # build_dataset's first pass reads whole shards only to count frames per trailer;
        # the trailer_id column alone tells the same
        cases = [(k, reader(k)) for k in paths] + [("float16 trailer_id only", ids_only)]
        times = interleaved(cases, reps, "read ")

    back16 = loaded["float16"].astype(np.float32)
    exact = np.concatenate(feats)
    rel = np.abs(back16 - exact).max() / max(float(np.abs(exact).max()), 1e-12)
    raw = {"float16": 2, "float32": 4}
    read16, read32 = median(times["float16"]) / reads, median(times["float32"]) / reads
    per_trailer = {kind: size[kind] / n for kind in size}
    for kind in ("float16", "float32"):
        raw_mb = frames * DIM * raw[kind] / 1e6
        print(
            f"  {kind}: {per_trailer[kind] / 1e6:.3f} MB per trailer on disk "
            f"(raw {raw_mb:.3f} MB), read median {median(times[kind]) / reads:.3f} s a shard"
        )
    print(f"  float16 round trip: max error {rel:.1e} of the largest value")
    results += [
        ratio(
            "storage",
            "float32 / float16 bytes on disk (zstd Parquet)",
            size["float32"] / size["float16"],
        ),
        ratio("storage", "float32 / float16 shard read time", read32 / read16),
        ratio(
            "storage",
            "float16 raw / on-disk (zstd compression)",
            frames * DIM * 2 * n / size["float16"],
        ),
        ratio(
            "storage",
            "float16 whole shard / trailer_id column read time",
            read16 * reads / median(times["float16 trailer_id only"]),
        ),
        figure(
            "storage",
            "float16 shard bytes per trailer (116 frames)",
            per_trailer["float16"] / 1e6,
            "MB",
        ),
        figure(
            "storage",
            "float32 shard bytes per trailer (116 frames)",
            per_trailer["float32"] / 1e6,
            "MB",
        ),
    ]
    # LMTD-9: the assembled array is padded to 240 frames; shards hold the frames extracted.
    for kind in ("float16", "float32"):
        array_gb = LMTD_TRAILERS * LMTD_MAX_FRAMES * DIM * raw[kind] / 1e9
        shards_gb = per_trailer[kind] * LMTD_TRAILERS / 1e9
        print(
            f"  LMTD-9 {kind}: data set array {LMTD_TRAILERS} x {LMTD_MAX_FRAMES} x {DIM} = "
            f"{array_gb:.2f} GB raw; shards at {EXTRACTED_FRAMES} frames ~{shards_gb:.2f} GB "
            f"on disk (240 frames: ~{shards_gb * LMTD_MAX_FRAMES / EXTRACTED_FRAMES:.2f} GB)"
        )
        results += [
            figure("storage", f"LMTD-9 {kind} array 4021x240x2048 (raw)", array_gb, "GB"),
            figure("storage", f"LMTD-9 {kind} shards, 116 frames (extrapolated)", shards_gb, "GB"),
        ]
    results.append(
        figure("storage", "float16 round-trip max error, % of max value", 100 * rel, "%")
    )
    return results


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 trailers, 2 repeats")
    parser.add_argument("--trailers", type=int, help="trailers in the sample shard (default 20)")
    parser.add_argument("--repeats", type=int, help="interleaved timed runs (default 5)")
    args = parser.parse_args(argv)
    results = run(args.quick, args.trailers, args.repeats)
    print_table(results, "bench_storage")
    return results


if __name__ == "__main__":
    main()
