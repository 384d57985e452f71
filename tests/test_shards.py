"""Shards: stable membership by id, Parquet round trip with metadata, atomic and checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from moviegenre.features.shards import (
    CorruptShardError,
    audio_table,
    group_by_shard,
    read_audio_shard,
    read_metadata,
    read_visual_shard,
    shard_of,
    visual_table,
    write_table_atomic,
)


def test_membership_depends_on_the_id_only() -> None:
    ids = [f"{i:06d}" for i in range(1, 400)]
    before = group_by_shard(ids, 16)
    after = group_by_shard([*ids, "000777", "my trailer é"], 16)
    changed = {s for s in after if after[s] != before.get(s)}
    added_to = {f"{shard_of('000777', 16):04d}", f"{shard_of('my trailer é', 16):04d}"}
    assert changed == added_to  # only the new trailers' shards differ
    shuffled = group_by_shard(list(reversed(ids)), 16)
    assert shuffled == before  # list order is irrelevant
    assert len(before) == 16 and all(before.values())


def test_membership_values_are_pinned() -> None:
    """Literal CRC-32 residues: the same in every process, Python version and machine.

    Python's own ``hash()`` of a str changes per process (PYTHONHASHSEED), which would
    move trailers between shards on every run and invalidate every shard.
    """
    assert [shard_of(t, 3) for t in ("000001", "000002", "000777", "my trailer é")] == [2, 1, 1, 2]
    assert [shard_of(t, 16) for t in ("000001", "000002", "000777", "my trailer é")] == [
        0,
        10,
        7,
        8,
    ]
    assert shard_of("000001", 64) == 48 and shard_of("my trailer é", 64) == 24


def _visual(n_trailers: int = 3, dim: int = 8):
    rng = np.random.default_rng(0)
    ids = [f"{i:06d}" for i in range(n_trailers)]
    counts = [5, 116, 2][:n_trailers]
    feats = [rng.normal(size=(c, dim)).astype(np.float16) for c in counts]
    stamps = [np.linspace(5, 5 + c - 1, c) for c in counts]
    return ids, stamps, feats


def test_visual_round_trip_with_metadata(tmp_path: Path) -> None:
    ids, stamps, feats = _visual()
    path = tmp_path / "shard-0001.parquet"
    meta = {"kind": "visual", "backbone": "resnet152", "weights": "imagenet", "dim": 8}
    write_table_atomic(visual_table(ids, stamps, feats, 8), path, meta)
    schema = pq.read_schema(path)
    assert str(schema.field("features").type) == "fixed_size_list<element: halffloat>[8]"
    got = read_visual_shard(path)
    assert got.trailer_ids == ids
    for i, expected in enumerate(feats):
        np.testing.assert_array_equal(got.of(i), expected)
    np.testing.assert_allclose(got.timestamps[:5], stamps[0])
    stored = read_metadata(path)
    assert stored["backbone"] == "resnet152" and stored["n_rows"] == 123
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_audio_round_trip(tmp_path: Path) -> None:
    vectors = np.arange(2 * 140, dtype=np.float32).reshape(2, 140)
    path = tmp_path / "shard-0000.parquet"
    write_table_atomic(audio_table(["a b", "ç"], vectors, [False, True]), path, {"dim": 140})
    ids, got, silent, meta = read_audio_shard(path)
    assert ids == ["a b", "ç"] and silent.tolist() == [False, True] and meta["dim"] == 140
    np.testing.assert_array_equal(got, vectors)


def test_truncated_or_foreign_files_are_refused(tmp_path: Path) -> None:
    ids, stamps, feats = _visual()
    path = tmp_path / "shard-0002.parquet"
    write_table_atomic(visual_table(ids, stamps, feats, 8), path, {"dim": 8})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptShardError, match="shard-0002.parquet"):
        read_visual_shard(path)
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(visual_table(ids, stamps, feats, 8), foreign)
    with pytest.raises(CorruptShardError, match="no moviegenre metadata"):
        read_visual_shard(foreign)


def test_stale_temporaries_are_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "shard-0003.parquet"
    leftover = tmp_path / ".shard-0003.parquet.tmp-99999"
    leftover.write_bytes(b"half a file")
    ids, stamps, feats = _visual(1)
    write_table_atomic(visual_table(ids, stamps, feats, 8), path, {"dim": 8})
    assert not leftover.exists() and path.exists()
