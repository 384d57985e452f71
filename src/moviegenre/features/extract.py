"""Shard jobs: visual embeddings and audio vectors for a group of trailers.

The visual job pays TensorFlow's import and the backbone's loading once per shard, and
keeps the model busy: decoder threads prepare the next trailers' frames (one sequential
pass each, scaled by the decoder) while the current ones go through the network. Only a
few trailers' frames are in memory at a time, and none go to disk.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre import __version__
from moviegenre.features.audio_layout import audio_dim
from moviegenre.features.decode import TrailerError, decode_frames, probe
from moviegenre.features.shards import audio_table, visual_table, write_table_atomic
from moviegenre.features.status import TrailerStatus, write_status_csv
from moviegenre.features.timestamps import frame_timestamps

log = logging.getLogger("moviegenre.extract")

#: a frame target or the sound may end this much before the file's declared end; beyond
#: it the file was cut short (e.g. an interrupted faststart download whose header promises
#: more than the data holds) and is reported as decode_error instead of silently clamped
MAX_OVERRUN_S = 2.0


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


def _too_short(path: Path, duration_s: float, min_duration_s: float, what: str) -> TrailerError:
    error = TrailerError(
        path,
        "too_short",
        f"the trailer lasts {duration_s:.2f} s; at least {min_duration_s:g} s are needed ({what})",
    )
    error.duration_s = duration_s  # type: ignore[attr-defined]  # for the status row
    return error


def _check_duration(path: Path, duration_s: float, min_duration_s: float, what: str) -> None:
    if duration_s < min_duration_s:
        raise _too_short(path, duration_s, min_duration_s, what)


def _decode_for_embedding(
    path: Path, frames_cfg: Mapping[str, Any], min_duration_s: float
) -> tuple[np.ndarray, np.ndarray, float]:
    info = probe(path)
    if not info.has_video:
        raise TrailerError(path, "no_video_stream", "the file has no video stream")
    start = float(frames_cfg["start_s"])
    _check_duration(
        path, info.duration_s, max(min_duration_s, start), f"frames are taken from {start:g} s on"
    )
    try:
        stamps = frame_timestamps(
            info.duration_s,
            start,
            frames_cfg["end_s"],
            frames_cfg["count"],
            str(frames_cfg["step_ms"]),
        )
    except ValueError as exc:  # duration == start: nothing to sample
        raise _too_short(path, info.duration_s, start, str(exc)) from exc
    frames = decode_frames(path, stamps, max_overrun_s=MAX_OVERRUN_S)
    return stamps, frames, info.duration_s


def _error_status(trailer_id: str, path: Path, stage: str, exc: TrailerError) -> TrailerStatus:
    status = TrailerStatus.from_error(trailer_id, path, stage, exc.reason, exc.detail)
    status.duration_s = float(getattr(exc, "duration_s", float("nan")))
    return status


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
) -> list[TrailerStatus]:
    """Embed every trailer of a shard; write the features and one status row per trailer."""
    from moviegenre.features.backbones import build_backbone

    if backbone is None:
        backbone = build_backbone(
            backbone_cfg["name"], str(backbone_cfg["weights"]), backbone_cfg.get("layer")
        )
    threads = max(1, int(extraction_cfg["decode_threads"]))
    min_duration = float(extraction_cfg["min_duration_s"])
    ids, stamps_out, feats_out, statuses = [], [], [], []
    progress = _Progress(f"visual {Path(features_path).stem}", len(videos))
    items = list(videos.items())
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode") as pool:
        pending: deque[tuple[str, Path, Future]] = deque()
        next_item = 0
        while next_item < len(items) or pending:
            # Keep `threads + 1` trailers decoding ahead of the network: bounded memory.
            while next_item < len(items) and len(pending) < threads + 1:
                trailer_id, path = items[next_item]
                future = pool.submit(_decode_for_embedding, Path(path), frames_cfg, min_duration)
                pending.append((trailer_id, Path(path), future))
                next_item += 1
            trailer_id, path, future = pending.popleft()
            try:
                stamps, frames, duration = future.result()
                features = backbone.embed(frames, int(backbone_cfg["batch_size"]))
                del frames
            except TrailerError as exc:
                statuses.append(_error_status(trailer_id, path, "visual", exc))
                log.warning("visual: %s", exc)
                progress.step(False)
                continue
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the shard
                detail = f"{type(exc).__name__}: {exc}"
                statuses.append(
                    TrailerStatus.from_error(trailer_id, path, "visual", "decode_error", detail)
                )
                log.warning("visual: %s: decode_error: %s", path.name, detail)
                progress.step(False)
                continue
            ids.append(trailer_id)
            stamps_out.append(stamps)
            feats_out.append(features)
            statuses.append(
                TrailerStatus(trailer_id, path.name, "visual", "ok", "", "", duration, len(stamps))
            )
            progress.step(True, len(stamps))
    table = visual_table(ids, stamps_out, feats_out, backbone.dim)
    meta = visual_metadata(backbone_cfg, frames_cfg, backbone.dim)
    write_table_atomic(table, Path(features_path), meta)
    write_status_csv(statuses, Path(status_path))
    return statuses


def audio_features_for(
    path: Path, audio_cfg: Mapping[str, Any], min_duration_s: float | None = None
) -> tuple[np.ndarray, bool, float]:
    """The 140-value vector of one trailer, whether its sound is silent, and its duration.

    ``min_duration_s`` (extraction.min_duration_s) makes a trailer too short for its
    frames too short for its sound as well, so both modalities agree on it.
    """
    # imported here: the visual path never loads the sound code (see code_version.py)
    from moviegenre.features.audio import audio_vector, is_silent
    from moviegenre.features.sound import decode_audio

    info = probe(path)
    if not info.has_audio:
        raise TrailerError(path, "no_audio_stream", "the file has no audio stream")
    offset = float(audio_cfg["offset_s"])
    if min_duration_s is not None:
        _check_duration(
            path,
            info.duration_s,
            max(min_duration_s, offset),
            f"sound is taken from {offset:g} s on",
        )
    signal = decode_audio(
        path,
        int(audio_cfg["sample_rate"]),
        offset,
        resampler=str(audio_cfg["resampler"]),
        max_overrun_s=MAX_OVERRUN_S,
    )
    try:
        vector = audio_vector(
            signal,
            int(audio_cfg["sample_rate"]),
            n_mfcc=int(audio_cfg["n_mfcc"]),
            lpc_order=int(audio_cfg["lpc_order"]),
            pooling=str(audio_cfg["pooling"]),
        )
    except ValueError as exc:  # too little sound after the offset for the MFCC pooling
        error = TrailerError(
            path, "too_short", f"{exc} (the trailer lasts {info.duration_s:.2f} s)"
        )
        error.duration_s = info.duration_s  # type: ignore[attr-defined]  # for the status row
        raise error from exc
    return vector, is_silent(signal), info.duration_s


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
        except TrailerError as exc:
            statuses.append(_error_status(trailer_id, path, "audio", exc))
            log.warning("audio: %s", exc)
            progress.step(False)
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the shard
            detail = f"{type(exc).__name__}: {exc}"
            statuses.append(
                TrailerStatus.from_error(trailer_id, path, "audio", "decode_error", detail)
            )
            log.warning("audio: %s: decode_error: %s", path.name, detail)
            progress.step(False)
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
