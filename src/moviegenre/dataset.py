"""Join labels with extracted features into arrays the models read without copies.

The builder of the dataset stage; later stages read the result through
moviegenre.dataset_files (which imports neither labels nor shards).

Visual features go to one float16 `.npy` file [N, F, D] that training memory-maps, so a
4,021 x 240 x 2048 set (3.9 GB) never has to sit in RAM. Every trailer that is labelled
but has no features, or has features but no label, is reported by id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moviegenre import paths
from moviegenre.atomic import remove_stale_temporaries, temporary_path, write_atomic
from moviegenre.data.labels import read_labels
from moviegenre.dataset_files import DatasetError
from moviegenre.features.audio_layout import audio_dim
from moviegenre.features.shards import (
    CorruptShardError,
    read_audio_shard,
    read_table_checked,
    read_visual_shard,
)
from moviegenre.genres import GENRES_9, genres_for, select_genres
from moviegenre.logs import log_problems

log = logging.getLogger("moviegenre.dataset")


def _write_atomic(path: Path, write) -> None:
    """Write through an open binary handle to a temporary name, then rename."""

    def through_handle(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            write(handle)

    write_atomic(path, through_handle)


#: shard file -> the labelled trailers whose features the current extraction put there
#: (None: every row, for the shards `moviegenre import-lmtd` wrote)
ShardMembers = dict[Path, "set[str] | None"]


def current_shards(
    report: pd.DataFrame, visual_dir: Path, wanted: set[str]
) -> tuple[ShardMembers, ShardMembers]:
    """(visual, audio): the shard files the current extraction wrote for the trailers in
    `wanted`, each with the trailers it holds for it.

    Read, not recomputed: the extraction report, which every extraction rewrites from the
    status files of the shards it made, names each ``ok`` trailer's shard. A shard file
    that no row names is a leftover of an earlier source or shard count, and is never
    joined. Visual features imported from LMTD-9 are every shard of the import's own
    folder, since the import removes the shards of earlier imports.
    """
    members: dict[str, dict[str, set[str]]] = {"visual": {}, "audio": {}}
    for stage, groups in members.items():
        ok = report[(report[f"{stage}_status"] == "ok") & report["trailer_id"].isin(wanted)]
        for trailer_id, shard in zip(ok["trailer_id"], ok["shard"], strict=True):
            groups.setdefault(shard, set()).add(trailer_id)
    audio: ShardMembers = {paths.audio_shard(s): ids for s, ids in members["audio"].items()}
    if visual_dir.name == paths.LMTD_VISUAL_NAME:
        visual: ShardMembers = {path: None for path in paths.shard_files(visual_dir)}
    else:
        visual = {paths.shard_file(visual_dir, s): ids for s, ids in members["visual"].items()}
    return dict(sorted(visual.items())), dict(sorted(audio.items()))


def read_extraction_report() -> pd.DataFrame:
    """The extraction report's rows (none before the first extraction); DatasetError for a
    report without the shard column, which an earlier version of the report rule wrote."""
    report_csv = paths.EXTRACTION_REPORT
    if not report_csv.exists():
        return pd.DataFrame(columns=["trailer_id", "shard", "visual_status", "audio_status"])
    report = pd.read_csv(report_csv, dtype=str, keep_default_na=False)
    if "shard" not in report.columns:
        raise DatasetError(
            f"{report_csv} does not say which shard holds each trailer (an earlier version "
            "wrote it): run `snakemake --forcerun extraction_report` (or `dvc repro -f features`)."
        )
    return report


def check_settings(path: Path, meta: dict[str, Any], config: dict[str, Any]) -> None:
    """DatasetError unless a shard was made with the settings of params.yaml (a shard of
    other settings is stale: the extraction has not run since they changed)."""
    if meta.get("kind") == "audio":
        made, now = meta.get("audio"), dict(config["audio"])
    elif meta.get("source") == "lmtd9_pickle":
        return
    else:
        made = {"backbone": meta.get("backbone"), "frames": meta.get("frames")}
        now = {"backbone": config["backbone"]["name"], "frames": dict(config["frames"])}
    if made != now:
        raise DatasetError(
            f"{path} was extracted with {made}, but params.yaml now says {now}: its features "
            "are stale. Run `snakemake` (or `dvc repro features`) first."
        )


def build_dataset(config: dict[str, Any], out_dir: Path = paths.DATASET) -> dict[str, Any]:
    """Assemble labels + features for the configured genre setting; return the report."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = read_labels(Path(config["data"]["labels_db"]))
    visual_dir = paths.visual_features_dir(config)
    wanted = labels["trailer_id"].tolist()
    labelled = set(wanted)
    extraction = read_extraction_report()
    visual_shards, audio_shards = current_shards(extraction, visual_dir, labelled)

    frame_counts, dim, visual_meta, stale = _count_frames(visual_shards, labelled, config)
    stale |= _leftover_ids(visual_dir, visual_shards, labelled) - set(frame_counts)
    problems: dict[str, list[str]] = {
        "labelled_without_visual_features": sorted(set(wanted) - set(frame_counts))
    }
    labels, y, genres = _keep_labelled(config, labels, frame_counts, problems, visual_dir)
    ids = labels["trailer_id"].tolist()
    n_frames = min(int(config["dataset"]["max_frames"]), max(frame_counts[t] for t in ids))

    arrays = _Arrays(out_dir, ids, n_frames, dim, audio_dim(config["audio"]))
    for path, members in visual_shards.items():
        arrays.fill_visual(path, members)
    audio_stale = _leftover_ids(paths.AUDIO_FEATURES, audio_shards, set(ids))
    for path, members in audio_shards.items():
        audio_stale |= arrays.fill_audio(path, members or set(), config)
    arrays.finish()
    stale |= audio_stale - set().union(*audio_shards.values())
    problems["without_audio"] = [t for t, ok in zip(ids, arrays.has_audio, strict=True) if not ok]
    problems["stale_features_ignored"] = sorted(stale)

    index = pd.DataFrame(
        {
            "trailer_id": ids,
            "split": labels["split"].to_numpy(),
            "n_frames": [min(frame_counts[t], n_frames) for t in ids],
            "has_audio": arrays.has_audio,
            "silent": arrays.silent,
        }
    )
    for column, genre in enumerate(genres):
        index[genre] = y[:, column].astype(np.uint8)
    _write_atomic(out_dir / paths.DATASET_AUDIO, lambda handle: np.save(handle, arrays.audio))
    _write_atomic(
        out_dir / paths.DATASET_INDEX, lambda handle: index.to_parquet(handle, index=False)
    )
    problems.update(
        _unmatched_files(extraction, wanted, problems["labelled_without_visual_features"])
    )

    report = {
        "genres": list(genres),
        "n_trailers": len(ids),
        "splits": {s: int((index["split"] == s).sum()) for s in ("train", "valid", "test")},
        "positives": {g: int(index[g].sum()) for g in genres},
        "n_frames": n_frames,
        "dim": dim,
        "visual_features": str(visual_dir),
        "visual_metadata": visual_meta,
        "with_audio": int(arrays.has_audio.sum()),
        "silent_audio": int(arrays.silent.sum()),
        "problems": problems,
    }
    text = (json.dumps(report, indent=2) + "\n").encode()
    _write_atomic(out_dir / paths.DATASET_REPORT, lambda handle: handle.write(text))
    log_problems(log, problems)
    log.info(
        "dataset: %d trailers (%s), %d frames x %d features, %d with audio",
        len(ids),
        ", ".join(f"{k} {v}" for k, v in report["splits"].items()),
        n_frames,
        dim,
        report["with_audio"],
    )
    return report


def _count_frames(
    visual_shards: ShardMembers, wanted: set[str], config: dict[str, Any]
) -> tuple[dict[str, int], int | None, dict | None, set[str]]:
    """Pass 1: (frames per labelled trailer with current visual features, their width, the
    shards' metadata, labelled trailers in rows of these shards the current extraction did
    not make)."""
    frame_counts: dict[str, int] = {}
    dim, visual_meta, stale = None, None, set()
    for path, members in visual_shards.items():
        if not path.exists():
            continue
        # Only the id column: 10-90x cheaper than the whole shard, which pass 2 reads.
        table, meta = read_table_checked(path, columns=["trailer_id"])
        counts = {
            entry["values"]: int(entry["counts"])
            for entry in table.column("trailer_id").value_counts().to_pylist()
            if entry["values"] in wanted
        }
        current = {t: n for t, n in counts.items() if members is None or t in members}
        stale |= set(counts) - set(current)
        if current:
            check_settings(path, meta, config)
            dim, visual_meta = int(meta["dim"]), meta
            frame_counts.update(current)
    return frame_counts, dim, visual_meta, stale - set(frame_counts)


def _leftover_ids(directory: Path, listed: ShardMembers, wanted: set[str]) -> set[str]:
    """Labelled trailers in the shard files of `directory` that no report row names (an
    earlier source's or shard count's): reported as stale, never joined."""
    found: set[str] = set()
    for path in paths.shard_files(directory):
        if path not in listed:
            with contextlib.suppress(CorruptShardError):
                table, _ = read_table_checked(path, columns=["trailer_id"])
                found |= set(table.column("trailer_id").unique().to_pylist()) & wanted
    return found


def _keep_labelled(
    config: dict[str, Any],
    labels: pd.DataFrame,
    frame_counts: dict[str, int],
    problems: dict[str, list[str]],
    visual_dir: Path,
) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...]]:
    """(label rows kept, their genre matrix, the genres): trailers with visual features and
    a genre of the configured setting; DatasetError when none is left."""
    n_labelled = len(labels)
    labels = labels[labels["trailer_id"].isin(frame_counts)].reset_index(drop=True)
    n_genres = int(config["dataset"]["genres"])
    y, keep = select_genres(labels[list(GENRES_9)].to_numpy(), n_genres)
    problems["dropped_no_genre_of_the_four"] = labels.loc[~keep, "trailer_id"].tolist()
    labels = labels[keep].reset_index(drop=True)
    if labels.empty:
        dropped = problems["dropped_no_genre_of_the_four"]
        raise DatasetError(
            f"nothing left after joining labels and features: {n_labelled} labelled trailers, "
            f"{len(frame_counts)} of them with visual features"
            + (f", {len(dropped)} without any of the 4 genres" if dropped else "")
            + f" (features read from {visual_dir}). "
            "Do the trailer file names match the label ids (e.g. 000002.mp4)? "
            "Run `snakemake` (or `dvc repro features`) first, and see "
            f"{paths.EXTRACTION_REPORT} for trailers that failed."
        )
    return labels, y, genres_for(n_genres)


class _Arrays:
    """Pass 2: the data set's arrays, filled shard by shard (one shard in memory at a time);
    the visual one is memory-mapped under a temporary name until finish()."""

    def __init__(self, out_dir: Path, ids: list[str], n_frames: int, dim: int, width: int) -> None:
        self.row_of = {trailer_id: i for i, trailer_id in enumerate(ids)}
        self.n_frames = n_frames
        self.visual_path = out_dir / paths.DATASET_VISUAL
        remove_stale_temporaries(self.visual_path)
        self.tmp_visual = temporary_path(self.visual_path)
        self.visual = np.lib.format.open_memmap(
            self.tmp_visual, mode="w+", dtype=np.float16, shape=(len(ids), n_frames, dim)
        )
        self.audio = np.zeros((len(ids), width), dtype=np.float32)
        self.has_audio = np.zeros(len(ids), dtype=bool)
        self.silent = np.zeros(len(ids), dtype=bool)

    def fill_visual(self, path: Path, members: set[str] | None) -> None:
        """The first n_frames frames of each kept trailer of a visual shard that the current
        extraction put there (zero padded)."""
        if not path.exists():
            return
        vis = read_visual_shard(path)
        for i, trailer_id in enumerate(vis.trailer_ids):
            row = self.row_of.get(trailer_id)
            if row is not None and (members is None or trailer_id in members):
                frames = vis.of(i)[: self.n_frames]
                self.visual[row, : len(frames)] = frames

    def fill_audio(self, path: Path, members: set[str], config: dict[str, Any]) -> set[str]:
        """The vectors of the kept trailers the current extraction put in an audio shard;
        returns the kept trailers whose rows there it did not make (stale, not joined)."""
        stale: set[str] = set()
        if not path.exists():
            return stale
        a_ids, vectors, quiet, a_meta = read_audio_shard(path)
        check_settings(path, a_meta, config)
        for trailer_id, vector, is_quiet in zip(a_ids, vectors, quiet, strict=True):
            row = self.row_of.get(trailer_id)
            if row is not None and trailer_id not in members:
                stale.add(trailer_id)
            elif row is not None:
                self.audio[row], self.has_audio[row], self.silent[row] = vector, True, is_quiet
        return stale

    def finish(self) -> None:
        """Flush the visual array and give it its real name."""
        self.visual.flush()
        del self.visual
        os.replace(self.tmp_visual, self.visual_path)


def _unmatched_files(
    extraction: pd.DataFrame, wanted: list[str], without_visual: list[str]
) -> dict[str, list[str]]:
    """Files with features or extraction rows but no label (e.g. new trailers to predict),
    and labels without features whose trailer file was not even found."""
    extracted = set(extraction["trailer_id"])
    unlabelled = sorted(extracted - set(wanted))
    # (no trailer file at all, e.g. LMTD-9's features imported alone: nothing to report)
    no_file = [t for t in without_visual if t not in extracted] if extracted else []
    return {"files_without_labels": unlabelled, "labelled_without_trailer_file": no_file}
