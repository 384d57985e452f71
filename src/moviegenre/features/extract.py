"""Shard jobs: visual embeddings and audio vectors for a group of trailers.

The visual job pays TensorFlow's import and the backbone's loading once per shard, and
keeps the model busy: decoder threads prepare the next trailers' frames (one sequential
pass each, scaled by the decoder) while the current ones go through the network. Only a
few trailers' frames are in memory at a time, and none go to disk. Each trailer goes
through features/trailer.py, the per-trailer functions `moviegenre predict` calls too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre import __version__
from moviegenre.features.audio_layout import audio_dim
from moviegenre.features.cores import available_cores
from moviegenre.features.embedding import embed_across_trailers
from moviegenre.features.shards import audio_table, visual_table, write_table_atomic
from moviegenre.features.status import TrailerStatus, write_status_csv
from moviegenre.features.trailer import (
    audio_features_for,
    decode_ahead,
    decode_for_embedding,
    failure,
)

log = logging.getLogger("moviegenre.extract")


def visual_metadata(backbone: Mapping[str, Any], frames: Mapping[str, Any], dim: int) -> dict:
    """What a visual shard records about how it was made (checked again at prediction)."""
    meta = {
        "kind": "visual",
        "backbone": backbone["name"],
        "weights": str(backbone["weights"]),
        "dim": dim,
        "input_size": [224, 224],
        "frames": dict(frames),
        "moviegenre_version": __version__,
    }
    if backbone["name"] == "vgg16":  # backbone.layer: where vgg16 was cut
        meta["layer"] = str(backbone.get("layer") or "fc1")
    return meta


def audio_metadata(audio: Mapping[str, Any], dim: int) -> dict:
    return {"kind": "audio", "dim": dim, "audio": dict(audio), "moviegenre_version": __version__}


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
    status.duration_s = float(getattr(exc, "duration_s", float("nan")))
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


def extract_visual_shard(
    videos: Mapping[str, Path],
    features_path: Path,
    status_path: Path,
    frames_cfg: Mapping[str, Any],
    backbone_cfg: Mapping[str, Any],
    extraction_cfg: Mapping[str, Any],
    backbone: Any = None,
    decode_workers: int | None = None,
) -> list[TrailerStatus]:
    """Embed every trailer of a shard; write the features and one status row per trailer.

    ``decode_workers`` trailers decode at once (the job's cores; default: this process's).
    """
    from moviegenre.features.backbones import build_backbone

    if backbone is None:
        backbone = build_backbone(
            backbone_cfg["name"], str(backbone_cfg["weights"]), backbone_cfg.get("layer")
        )
    workers = max(1, int(decode_workers or available_cores()))
    min_duration = float(extraction_cfg["min_duration_s"])
    ids, stamps_out, feats_out, statuses = [], [], [], []
    progress = _Progress(f"visual {Path(features_path).stem}", len(videos))
    files = {trailer_id: Path(path) for trailer_id, path in videos.items()}

    def decode(trailer_id: str) -> tuple[np.ndarray, np.ndarray, float]:
        return decode_for_embedding(files[trailer_id], frames_cfg, min_duration)

    def decoded() -> Iterator[tuple[tuple[str, np.ndarray, float], np.ndarray]]:
        """((trailer id, timestamps, duration), frames) of each trailer that decodes."""
        for trailer_id, future in decode_ahead(files, decode, workers):
            try:
                stamps, frames, duration = future.result()
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the shard
                _failed(statuses, progress, trailer_id, files[trailer_id], "visual", exc)
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
        progress.step(True, len(stamps))
    order = {trailer_id: i for i, trailer_id in enumerate(files)}
    statuses.sort(key=lambda status: order[status.trailer_id])  # input order, as before
    table = visual_table(ids, stamps_out, feats_out, backbone.dim)
    meta = visual_metadata(backbone_cfg, frames_cfg, backbone.dim)
    write_table_atomic(table, Path(features_path), meta)
    write_status_csv(statuses, Path(status_path))
    return statuses


def extract_audio_shard(
    videos: Mapping[str, Path],
    features_path: Path,
    status_path: Path,
    audio_cfg: Mapping[str, Any],
    extraction_cfg: Mapping[str, Any] | None = None,
) -> list[TrailerStatus]:
    """The audio vector of every trailer of a shard, one status row per trailer.

    With ``extraction_cfg``, its ``min_duration_s`` applies to the sound as to the frames.
    """
    min_duration = None if extraction_cfg is None else float(extraction_cfg["min_duration_s"])
    ids, vectors, silent, statuses = [], [], [], []
    progress = _Progress(f"audio {Path(features_path).stem}", len(videos))
    for trailer_id, path in videos.items():
        path = Path(path)
        try:
            vector, is_quiet, duration = audio_features_for(path, audio_cfg, min_duration)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the shard
            _failed(statuses, progress, trailer_id, path, "audio", exc)
            continue
        ids.append(trailer_id)
        vectors.append(vector)
        silent.append(is_quiet)
        flags = "silent" if is_quiet else ""
        statuses.append(
            TrailerStatus(trailer_id, path.name, "audio", "ok", "", "", duration, 0, flags)
        )
        progress.step(True)
    # A shard where no trailer has usable sound still gets its (empty, valid) table.
    dim = len(vectors[0]) if vectors else audio_dim(audio_cfg)
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    table = audio_table(ids, matrix, silent, dim)
    write_table_atomic(table, Path(features_path), audio_metadata(audio_cfg, dim))
    write_status_csv(statuses, Path(status_path))
    return statuses
