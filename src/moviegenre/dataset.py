"""Join labels with extracted features into arrays the models read without copies.

Visual features go to one float16 `.npy` file [N, F, D] that training memory-maps, so a
4,021 x 240 x 2048 set (3.9 GB) never has to sit in RAM. Every trailer that is labelled
but has no features, or has features but no label, is reported by id.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moviegenre import paths
from moviegenre.atomic import remove_stale_temporaries, temporary_path, write_atomic
from moviegenre.data.labels import read_labels
from moviegenre.features.audio_layout import audio_dim
from moviegenre.features.shards import (
    group_by_shard,
    read_audio_shard,
    read_table_checked,
    read_visual_shard,
)
from moviegenre.genres import GENRES_9, genres_for, select_genres

log = logging.getLogger("moviegenre.dataset")


class DatasetError(RuntimeError):
    """Nothing usable is left after joining labels and features."""


@dataclass
class Dataset:
    """The assembled data set: index rows align with the arrays' first axis."""

    index: pd.DataFrame  # trailer_id, split, n_frames, has_audio, silent, one column per genre
    visual: np.ndarray  # float16 [N, F, D], usually a read-only memmap
    audio: np.ndarray  # float32 [N, audio_dim]; rows without audio are zeros (see has_audio)
    genres: tuple[str, ...]

    @property
    def labels(self) -> np.ndarray:
        return self.index[list(self.genres)].to_numpy(dtype=np.float32)

    def split_indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.index["split"].to_numpy() == split)


def load_dataset(directory: Path = paths.DATASET, mmap: bool = True) -> Dataset:
    """Open an assembled data set; the visual array is memory-mapped read-only by default."""
    directory = Path(directory)
    index = pd.read_parquet(directory / paths.DATASET_INDEX)
    report = json.loads((directory / paths.DATASET_REPORT).read_text())
    visual = np.load(directory / paths.DATASET_VISUAL, mmap_mode="r" if mmap else None)
    audio = np.load(directory / paths.DATASET_AUDIO)
    if len(index) != len(visual) or len(index) != len(audio):
        raise DatasetError(f"{directory}: index, visual and audio arrays disagree in length")
    return Dataset(index, visual, audio, tuple(report["genres"]))


def _write_atomic(path: Path, write) -> None:
    """Write through an open binary handle to a temporary name, then rename."""

    def through_handle(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            write(handle)

    write_atomic(path, through_handle)


def build_dataset(config: dict[str, Any], out_dir: Path = paths.DATASET) -> dict[str, Any]:
    """Assemble labels + features for the configured genre setting; return the report."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = read_labels(Path(config["data"]["labels_db"]))
    n_shards = int(config["extraction"]["shards"])
    visual_dir = paths.visual_features_dir(config)
    max_frames = int(config["dataset"]["max_frames"])

    wanted = labels["trailer_id"].tolist()
    shards = group_by_shard(wanted, n_shards)

    # Pass 1: which labelled trailers have visual features, how many frames, which dim.
    frame_counts: dict[str, int] = {}
    dim, visual_meta = None, None
    for shard in shards:
        path = paths.shard_file(visual_dir, shard)
        if not path.exists():
            continue
        # Only the id column: 10-90x cheaper than the whole shard, which pass 2 reads.
        table, meta = read_table_checked(path, columns=["trailer_id"])
        dim, visual_meta = int(meta["dim"]), meta
        counts = table.column("trailer_id").value_counts().to_pylist()
        wanted_here = set(shards[shard])
        for entry in counts:
            if entry["values"] in wanted_here:
                frame_counts[entry["values"]] = int(entry["counts"])
    problems: dict[str, list[str]] = {
        "labelled_without_visual_features": sorted(set(wanted) - set(frame_counts))
    }

    labels = labels[labels["trailer_id"].isin(frame_counts)].reset_index(drop=True)
    n_genres = int(config["dataset"]["genres"])
    y, keep = select_genres(labels[list(GENRES_9)].to_numpy(), n_genres)
    problems["dropped_no_genre_of_the_four"] = labels.loc[~keep, "trailer_id"].tolist()
    labels = labels[keep].reset_index(drop=True)
    genres = genres_for(n_genres)
    if labels.empty:
        dropped = problems["dropped_no_genre_of_the_four"]
        raise DatasetError(
            f"nothing left after joining labels and features: {len(wanted)} labelled trailers, "
            f"{len(frame_counts)} of them with visual features"
            + (f", {len(dropped)} without any of the 4 genres" if dropped else "")
            + f" (features read from {visual_dir}). "
            "Do the trailer file names match the label ids (e.g. 000002.mp4)? "
            "Run `snakemake` (or `dvc repro features`) first, and see "
            f"{paths.EXTRACTION_REPORT} for trailers that failed."
        )
    ids = labels["trailer_id"].tolist()
    row_of = {trailer_id: i for i, trailer_id in enumerate(ids)}
    n_frames = min(max_frames, max(frame_counts[t] for t in ids))

    # Pass 2: fill the memory-mapped array shard by shard (one shard in memory at a time).
    visual_path = out_dir / paths.DATASET_VISUAL
    remove_stale_temporaries(visual_path)
    tmp_visual = temporary_path(visual_path)
    visual = np.lib.format.open_memmap(
        tmp_visual, mode="w+", dtype=np.float16, shape=(len(ids), n_frames, dim)
    )
    audio = np.zeros((len(ids), audio_dim(config["audio"])), dtype=np.float32)
    has_audio = np.zeros(len(ids), dtype=bool)
    silent = np.zeros(len(ids), dtype=bool)
    for shard in shards:
        path = paths.shard_file(visual_dir, shard)
        if path.exists():
            vis = read_visual_shard(path)
            for i, trailer_id in enumerate(vis.trailer_ids):
                row = row_of.get(trailer_id)
                if row is not None:
                    frames = vis.of(i)[:n_frames]
                    visual[row, : len(frames)] = frames
        audio_path = paths.audio_shard(shard)
        if audio_path.exists():
            a_ids, vectors, quiet, _ = read_audio_shard(audio_path)
            for trailer_id, vector, is_quiet in zip(a_ids, vectors, quiet, strict=True):
                row = row_of.get(trailer_id)
                if row is not None:
                    audio[row], has_audio[row], silent[row] = vector, True, is_quiet
    visual.flush()
    del visual
    os.replace(tmp_visual, visual_path)
    problems["without_audio"] = [t for t, ok in zip(ids, has_audio, strict=True) if not ok]

    index = pd.DataFrame(
        {
            "trailer_id": ids,
            "split": labels["split"].to_numpy(),
            "n_frames": [min(frame_counts[t], n_frames) for t in ids],
            "has_audio": has_audio,
            "silent": silent,
        }
    )
    for column, genre in enumerate(genres):
        index[genre] = y[:, column].astype(np.uint8)
    _write_atomic(out_dir / paths.DATASET_AUDIO, lambda handle: np.save(handle, audio))
    _write_atomic(
        out_dir / paths.DATASET_INDEX, lambda handle: index.to_parquet(handle, index=False)
    )

    # Files with features or extraction rows but no label (e.g. new trailers to predict),
    # and labels without features whose trailer file was not even found.
    report_csv = paths.EXTRACTION_REPORT
    unlabelled: list[str] = []
    no_file: list[str] = []
    if report_csv.exists():
        extracted = set(pd.read_csv(report_csv, dtype={"trailer_id": str})["trailer_id"])
        unlabelled = sorted(extracted - set(wanted))
        # (no trailer file at all, e.g. LMTD-9's features imported alone: nothing to report)
        if extracted:
            no_file = [
                t for t in problems["labelled_without_visual_features"] if t not in extracted
            ]
    problems["files_without_labels"] = unlabelled
    problems["labelled_without_trailer_file"] = no_file

    report = {
        "genres": list(genres),
        "n_trailers": len(ids),
        "splits": {s: int((index["split"] == s).sum()) for s in ("train", "valid", "test")},
        "positives": {g: int(index[g].sum()) for g in genres},
        "n_frames": n_frames,
        "dim": dim,
        "visual_features": str(visual_dir),
        "visual_metadata": visual_meta,
        "with_audio": int(has_audio.sum()),
        "silent_audio": int(silent.sum()),
        "problems": problems,
    }
    text = (json.dumps(report, indent=2) + "\n").encode()
    _write_atomic(out_dir / paths.DATASET_REPORT, lambda handle: handle.write(text))
    for key, items in problems.items():
        if items:
            shown = ", ".join(items[:10]) + (" ..." if len(items) > 10 else "")
            log.warning("%s: %d (%s)", key.replace("_", " "), len(items), shown)
    log.info(
        "dataset: %d trailers (%s), %d frames x %d features, %d with audio",
        len(ids),
        ", ".join(f"{k} {v}" for k, v in report["splits"].items()),
        n_frames,
        dim,
        report["with_audio"],
    )
    return report
