"""Shard jobs: visual embeddings and audio vectors for a group of trailers.

The visual job pays TensorFlow's import and the backbone's loading once per shard, and
keeps the model busy: decoder threads prepare the next trailers' frames (one sequential
pass each, scaled by the decoder) while the current ones go through the network. Only a
few trailers' frames are in memory at a time, and none go to disk. Each trailer goes
through features/trailer.py, the per-trailer functions `moviegenre predict` calls too.

With a feature store (features/store.py), a trailer whose content, settings and feature
code are unchanged is taken from the store, not decoded; a shard whose trailers are all
in it loads no backbone (docs/feature_store.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.features.audio_layout import audio_dim
from moviegenre.features.cores import available_cores
from moviegenre.features.decode import TrailerError
from moviegenre.features.embedding import embed_across_trailers
from moviegenre.features.shard_metadata import audio_metadata, visual_metadata
from moviegenre.features.shards import audio_table, visual_table, write_table_atomic
from moviegenre.features.status import TrailerStatus, write_status_csv
from moviegenre.features.store import FeatureStore
from moviegenre.features.trailer import (
    AUDIO_VALUE_KEYS,
    FRAMES_KEYS,
    audio_features_noted,
    decode_ahead,
    decode_for_embedding,
    failure,
)

log = logging.getLogger("moviegenre.extract")


def _failed(
    statuses: list[TrailerStatus],
    progress: _Progress,
    trailer_id: str,
    path: Path,
    stage: str,
    exc: Exception,
) -> None:
    """Record a trailer that failed: its status row (with its duration when known), a log
    line, a step of the progress."""
    status = TrailerStatus.from_error(trailer_id, path, stage, *failure(exc))
    if isinstance(exc, TrailerError):
        status.duration_s = exc.duration_s
    statuses.append(status)
    log.warning("%s: %s: %s: %s", stage, path.name, *failure(exc))
    progress.step(False)


class _Progress:
    """One log line every few trailers: counts and throughput, so long shards show life."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.failed = label, total, 0, 0
        self.frames, self.start, self.last = 0, time.monotonic(), 0.0

    def step(self, ok: bool, frames: int = 0) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self.frames += frames
        now = time.monotonic()
        if now - self.last > 5 or self.done == self.total:
            self.last = now
            elapsed = max(now - self.start, 1e-9)
            rate = (
                f"{self.frames / elapsed:.1f} frames/s"
                if self.frames
                else f"{self.done / elapsed:.2f} trailers/s"
            )
            log.info(
                "%s: %d/%d trailers (%d not ok), %s",
                self.label,
                self.done,
                self.total,
                self.failed,
                rate,
            )


def visual_store_settings(
    frames_cfg: Mapping[str, Any], backbone_cfg: Mapping[str, Any], min_duration_s: float
) -> dict[str, Any]:
    """The settings that shape a trailer's visual rows: its feature-store key (with the
    content hash and the code version). Decoder threads and shard count are left out."""
    return {
        "frames": {key: frames_cfg[key] for key in FRAMES_KEYS},
        "backbone": dict(backbone_cfg),
        "min_duration_s": float(min_duration_s),
    }


def audio_store_settings(audio_cfg: Mapping[str, Any], min_duration_s: float | None) -> dict:
    """The settings that shape a trailer's audio vector (its feature-store key)."""
    return {
        "audio": {key: audio_cfg.get(key) for key in AUDIO_VALUE_KEYS},
        "min_duration_s": min_duration_s,
    }


class _Reuse:
    """The feature store as a shard job sees it: what it may take, and what it keeps.

    Without a store (``store=None``: tests, `moviegenre predict`) every trailer is extracted.
    """

    def __init__(self, store: FeatureStore | None, files: Mapping[str, Path]) -> None:
        self.store, self.hashes, self.found = store, {}, {}
        if store is None:
            return
        for trailer_id, path in files.items():
            try:
                self.hashes[trailer_id] = store.content_hash(path)
            except OSError:
                continue  # unreadable: extraction reports it with its reason
            entry = store.get(self.hashes[trailer_id])
            if entry is not None:
                self.found[trailer_id] = entry

    def todo(self, files: Mapping[str, Path]) -> dict[str, Path]:
        return {tid: path for tid, path in files.items() if tid not in self.found}

    def status(self, trailer_id: str, path: Path, stage: str) -> TrailerStatus:
        """The status row of a reused trailer, as its extraction wrote it."""
        meta = self.found[trailer_id]["meta"]
        return TrailerStatus(
            trailer_id,
            path.name,
            stage,
            meta["status"],
            meta.get("reason", ""),
            meta.get("detail", ""),
            float(meta["duration_s"]) if meta.get("duration_s") is not None else float("nan"),
            int(meta.get("n_frames", 0)),
            meta.get("flags", ""),
            origin="reused",
            store_key=self.store.key(self.hashes[trailer_id]),
        )

    def keep(self, status: TrailerStatus, **arrays: np.ndarray) -> None:
        """Store an ok or skipped outcome (failures are retried next run, never stored)."""
        hash_ = self.hashes.get(status.trailer_id)
        if self.store is None or hash_ is None or status.status == "failed":
            return
        duration = status.duration_s if status.duration_s == status.duration_s else None
        meta = {
            "status": status.status,
            "reason": status.reason,
            "detail": status.detail,
            "duration_s": duration,
            "n_frames": status.n_frames,
            "flags": status.flags,
        }
        status.store_key = self.store.put(hash_, meta, **arrays)

    def log_counts(self, label: str, statuses: list[TrailerStatus]) -> None:
        failed = sum(s.status == "failed" for s in statuses)
        reused = sum(s.origin == "reused" for s in statuses)
        log.info(
            "%s: %d trailers: %d reused from the feature store, %d extracted (%d failed);"
            " %d files hashed",
            label,
            len(statuses),
            reused,
            len(statuses) - reused,
            failed,
            self.store.index.hashed if self.store else 0,
        )


def _in_order(files: Mapping[str, Path], statuses: list[TrailerStatus]) -> list[TrailerStatus]:
    order = {trailer_id: i for i, trailer_id in enumerate(files)}
    return sorted(statuses, key=lambda s: order[s.trailer_id])


def extract_visual_shard(
    videos: Mapping[str, Path],
    features_path: Path,
    status_path: Path,
    frames_cfg: Mapping[str, Any],
    backbone_cfg: Mapping[str, Any],
    extraction_cfg: Mapping[str, Any],
    backbone: Any = None,
    store: FeatureStore | None = None,
    before_backbone: Callable[[], None] | None = None,
    decode_workers: int | None = None,
) -> list[TrailerStatus]:
    """Embed every trailer of a shard; write the features and one status row per trailer.

    ``decode_workers`` trailers decode at once (the job's cores; default: this process's).
    Trailers found in ``store`` are taken from it unchanged; the backbone is built (after
    ``before_backbone``, e.g. TensorFlow's thread settings) only if some trailer is not.
    """
    workers = max(1, int(decode_workers or available_cores()))
    min_duration = float(extraction_cfg["min_duration_s"])
    all_files = {trailer_id: Path(path) for trailer_id, path in videos.items()}
    reuse = _Reuse(store, all_files)
    files = reuse.todo(all_files)
    ids, stamps_out, feats_out, statuses = [], [], [], []
    progress = _Progress(f"visual {Path(features_path).stem}", len(files))
    if files and backbone is None:
        from moviegenre.features.backbones import build_backbone

        if before_backbone is not None:
            before_backbone()
        backbone = build_backbone(
            backbone_cfg["name"], str(backbone_cfg["weights"]), backbone_cfg.get("layer")
        )

    def decode(trailer_id: str) -> tuple[np.ndarray, np.ndarray, float]:
        return decode_for_embedding(files[trailer_id], frames_cfg, min_duration)

    def decoded() -> Iterator[tuple[tuple[str, np.ndarray, float], np.ndarray]]:
        """((trailer id, timestamps, duration), frames) of each trailer that decodes."""
        for trailer_id, future in decode_ahead(files, decode, workers):
            try:
                stamps, frames, duration = future.result()
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the shard
                _failed(statuses, progress, trailer_id, files[trailer_id], "visual", exc)
                reuse.keep(statuses[-1])
                continue
            yield (trailer_id, stamps, duration), frames

    # frames of several trailers share each network call (features/embedding.py)
    batch_size = int(backbone_cfg["batch_size"])
    for (trailer_id, stamps, duration), features in embed_across_trailers(
        backbone, decoded(), batch_size
    ):
        ids.append(trailer_id)
        stamps_out.append(stamps)
        feats_out.append(features)
        statuses.append(
            TrailerStatus(
                trailer_id, files[trailer_id].name, "visual", "ok", "", "", duration, len(stamps)
            )
        )
        reuse.keep(statuses[-1], timestamps=stamps, features=features)
        progress.step(True, len(stamps))
    rows = dict(zip(ids, zip(stamps_out, feats_out, strict=True), strict=True))
    for trailer_id, entry in reuse.found.items():
        statuses.append(reuse.status(trailer_id, all_files[trailer_id], "visual"))
        if entry["meta"]["status"] == "ok":
            rows[trailer_id] = (entry["timestamps"], entry["features"])
    statuses = _in_order(all_files, statuses)
    ok = [s.trailer_id for s in statuses if s.trailer_id in rows]
    dim = backbone.dim if backbone is not None else _stored_dim(reuse, backbone_cfg)
    table = visual_table(ok, [rows[t][0] for t in ok], [rows[t][1] for t in ok], dim)
    meta = visual_metadata(backbone_cfg, frames_cfg, dim)
    write_table_atomic(table, Path(features_path), meta)
    write_status_csv(statuses, Path(status_path))
    reuse.log_counts(f"visual {Path(features_path).stem}", statuses)
    return statuses


def _stored_dim(reuse: _Reuse, backbone_cfg: Mapping[str, Any]) -> int:
    """The embedding width when no backbone was built: from a stored entry, else the
    backbone's (built only in the rare shard whose trailers were all skipped)."""
    for entry in reuse.found.values():
        if "features" in entry:
            return int(entry["features"].shape[1])
    from moviegenre.features.backbones import build_backbone

    return build_backbone(
        backbone_cfg["name"], str(backbone_cfg["weights"]), backbone_cfg.get("layer")
    ).dim


def extract_audio_shard(
    videos: Mapping[str, Path],
    features_path: Path,
    status_path: Path,
    audio_cfg: Mapping[str, Any],
    extraction_cfg: Mapping[str, Any] | None = None,
    store: FeatureStore | None = None,
) -> list[TrailerStatus]:
    """The audio vector of every trailer of a shard, one status row per trailer.

    With ``extraction_cfg``, its ``min_duration_s`` applies to the sound as to the frames.
    Trailers found in ``store`` are taken from it unchanged.
    """
    from moviegenre.features.isolation import IsolatedWorker  # here: not the visual jobs'
    from moviegenre.features.sound import audio_notes

    min_duration = None if extraction_cfg is None else float(extraction_cfg["min_duration_s"])
    all_files = {trailer_id: Path(path) for trailer_id, path in videos.items()}
    reuse = _Reuse(store, all_files)
    vectors, silent, statuses = {}, {}, []
    progress = _Progress(f"audio {Path(features_path).stem}", len(reuse.todo(all_files)))
    isolated = IsolatedWorker()  # a crash in native decoding costs one trailer, not the shard
    for trailer_id, path in reuse.todo(all_files).items():
        try:
            vector, is_quiet, duration, notes = isolated.call(
                path, audio_features_noted, path, audio_cfg, min_duration
            )
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the shard
            _failed(statuses, progress, trailer_id, path, "audio", exc)
            reuse.keep(statuses[-1])
            continue
        vectors[trailer_id] = vector
        silent[trailer_id] = is_quiet
        flags, detail = audio_notes(is_quiet, notes)
        statuses.append(
            TrailerStatus(trailer_id, path.name, "audio", "ok", "", detail, duration, 0, flags)
        )
        reuse.keep(statuses[-1], vector=np.asarray(vector))
        progress.step(True)
    isolated.close()
    for trailer_id, entry in reuse.found.items():
        statuses.append(reuse.status(trailer_id, all_files[trailer_id], "audio"))
        if entry["meta"]["status"] == "ok":
            vectors[trailer_id] = entry["vector"]
            silent[trailer_id] = "silent" in entry["meta"]["flags"].split(";")
    statuses = _in_order(all_files, statuses)
    ids = [s.trailer_id for s in statuses if s.trailer_id in vectors]
    # A shard where no trailer has usable sound still gets its (empty, valid) table.
    dim = len(vectors[ids[0]]) if ids else audio_dim(audio_cfg)
    matrix = np.stack([vectors[t] for t in ids]) if ids else np.zeros((0, dim), np.float32)
    table = audio_table(ids, matrix, [silent[t] for t in ids], dim)
    write_table_atomic(table, Path(features_path), audio_metadata(audio_cfg, dim))
    write_status_csv(statuses, Path(status_path))
    reuse.log_counts(f"audio {Path(features_path).stem}", statuses)
    return statuses
