"""Parquet shards of features: stable membership, compact float16, atomic writes.

A trailer's shard is a hash of its id, not its position in a list, so adding a trailer
changes exactly one shard. Files are written under a temporary name and renamed, and
checked against their own metadata on read, so a killed job never leaves a file that a
later stage takes for valid.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from moviegenre.atomic import write_atomic

METADATA_KEY = b"moviegenre"


class CorruptShardError(RuntimeError):
    """A shard file that is truncated, unreadable or disagrees with its own metadata."""


def shard_of(trailer_id: str, n_shards: int) -> int:
    """The shard a trailer belongs to: CRC-32 of its id, modulo the shard count."""
    return zlib.crc32(trailer_id.encode("utf-8")) % n_shards


def shard_name(index: int) -> str:
    return f"{index:04d}"


def group_by_shard(trailer_ids: Sequence[str], n_shards: int) -> dict[str, list[str]]:
    """Shard name -> sorted trailer ids, for the shards that have any."""
    groups: dict[str, list[str]] = {}
    for trailer_id in sorted(trailer_ids):
        groups.setdefault(shard_name(shard_of(trailer_id, n_shards)), []).append(trailer_id)
    return dict(sorted(groups.items()))


def write_table_atomic(table: pa.Table, path: Path, metadata: dict[str, Any]) -> None:
    """Write a Parquet file with our metadata under a temporary name, then rename."""
    meta = dict(metadata, n_rows=table.num_rows)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[METADATA_KEY] = json.dumps(meta, sort_keys=True).encode("utf-8")
    table = table.replace_schema_metadata(schema_meta)
    # Dictionary-encode only the id column and keep row groups small: pyarrow's defaults
    # buffer about 7x the table while writing a 2048-wide float16 list column.
    write_atomic(
        path,
        lambda tmp: pq.write_table(
            table, tmp, compression="zstd", use_dictionary=["trailer_id"], row_group_size=2048
        ),
    )


def read_metadata(path: Path) -> dict[str, Any]:
    """Our metadata of a shard (backbone, weights, feature parameters, row count)."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise CorruptShardError(f"{path}: not a readable Parquet file ({exc})") from exc
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise CorruptShardError(f"{path}: no moviegenre metadata: not written by this project")
    return json.loads(raw)


def read_table_checked(path: Path, columns: Sequence[str] | None = None) -> tuple[pa.Table, dict]:
    """Read a shard and check it against its metadata; CorruptShardError names the file."""
    metadata = read_metadata(path)
    try:
        table = pq.read_table(path, columns=list(columns) if columns else None)
    except (OSError, pa.ArrowException) as exc:
        raise CorruptShardError(f"{path}: cannot be read ({exc})") from exc
    if table.num_rows != metadata.get("n_rows"):
        raise CorruptShardError(
            f"{path}: has {table.num_rows} rows but its metadata says {metadata.get('n_rows')}"
        )
    return table, metadata


# ---- visual shards: one row per (trailer, frame) --------------------------------------------


def visual_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("trailer_id", pa.string()),
            ("frame_index", pa.int16()),
            ("timestamp", pa.float32()),
            ("features", pa.list_(pa.float16(), dim)),
        ]
    )


def visual_table(
    trailer_ids: Sequence[str],
    timestamps: Sequence[np.ndarray],
    features: Sequence[np.ndarray],
    dim: int,
) -> pa.Table:
    """Rows for several trailers; features[i] is float16 [n_frames_i, dim]."""
    counts = [len(f) for f in features]
    for trailer_id, f, t in zip(trailer_ids, features, timestamps, strict=True):
        if f.ndim != 2 or f.shape[1] != dim or len(t) != len(f):
            raise ValueError(f"{trailer_id}: features {f.shape} / timestamps {len(t)} do not fit")
    flat = (
        np.concatenate([np.asarray(f, dtype=np.float16).reshape(-1) for f in features])
        if features
        else np.zeros(0, dtype=np.float16)
    )
    ids = np.repeat(np.asarray(trailer_ids, dtype=object), counts)
    frame_index = np.concatenate([np.arange(c, dtype=np.int16) for c in counts]) if counts else []
    stamps = (
        np.concatenate([np.asarray(t, dtype=np.float32) for t in timestamps])
        if timestamps
        else np.zeros(0, dtype=np.float32)
    )
    return pa.table(
        [
            pa.array(ids, type=pa.string()),
            pa.array(frame_index, type=pa.int16()),
            pa.array(stamps, type=pa.float32()),
            pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float16()), dim),
        ],
        schema=visual_schema(dim),
    )


@dataclass
class VisualFeatures:
    """Frames of many trailers, stacked: rows of trailer i are features[offsets[i]:offsets[i+1]]."""

    trailer_ids: list[str]
    offsets: np.ndarray
    timestamps: np.ndarray
    features: np.ndarray  # float16 [total_frames, dim]
    metadata: dict[str, Any]

    def of(self, i: int) -> np.ndarray:
        return self.features[self.offsets[i] : self.offsets[i + 1]]


def read_visual_shard(path: Path) -> VisualFeatures:
    """One visual shard as a stacked float16 array (one copy, straight from Arrow)."""
    table, metadata = read_table_checked(path)
    dim = int(metadata["dim"])
    ids = table.column("trailer_id").to_numpy(zero_copy_only=False)
    feats = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    feats = feats.reshape(-1, dim)
    if len(ids):
        change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
        starts = np.concatenate([[0], change])
    else:
        starts = np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([starts, [len(ids)]]).astype(np.int64)
    return VisualFeatures(
        trailer_ids=[str(ids[s]) for s in starts],
        offsets=offsets,
        timestamps=table.column("timestamp").to_numpy(),
        features=feats,
        metadata=metadata,
    )


# ---- audio shards: one row per trailer ------------------------------------------------------


def audio_table(
    trailer_ids: Sequence[str], vectors: np.ndarray, silent: Sequence[bool], dim: int = 140
) -> pa.Table:
    """Rows of (id, silent flag, vector); zero rows give a valid empty table of width dim."""
    if len(trailer_ids):
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(trailer_ids), -1)
        dim = vectors.shape[1]
    else:
        vectors = np.zeros((0, dim), dtype=np.float32)
    return pa.table(
        {
            "trailer_id": pa.array(list(trailer_ids), type=pa.string()),
            "silent": pa.array(list(silent), type=pa.bool_()),
            "features": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1), type=pa.float32()), dim
            ),
        }
    )


def read_audio_shard(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, dict]:
    """(trailer ids, float32 [n, 140] vectors, silent flags, metadata)."""
    table, metadata = read_table_checked(path)
    dim = int(metadata["dim"])
    ids = [str(x) for x in table.column("trailer_id").to_pylist()]
    vectors = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    silent = table.column("silent").to_numpy(zero_copy_only=False).astype(bool)
    return ids, vectors.reshape(len(ids), dim), silent, metadata
