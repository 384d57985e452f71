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
from moviegenre.features.decode import TrailerError, decode_audio, decode_frames, probe
from moviegenre.features.shards import audio_table, visual_table, write_table_atomic
from moviegenre.features.status import TrailerStatus, write_status_csv
from moviegenre.features.timestamps import frame_timestamps

log = logging.getLogger("moviegenre.extract")


def visual_metadata(backbone: Mapping[str, Any], frames: Mapping[str, Any], dim: int) -> dict:
    """What a visual shard records about how it was made (checked again at prediction)."""
    return {
        "kind": "visual",
        "backbone": backbone["name"],
        "weights": str(backbone["weights"]),
        "dim": dim,
        "input_size": [224, 224],
        "frames": dict(frames),
        "moviegenre_version": __version__,
    }


def audio_metadata(audio: Mapping[str, Any], dim: int) -> dict:
    return {"kind": "audio", "dim": dim, "audio": dict(audio), "moviegenre_version": __version__}


def _decode_for_embedding(
    path: Path, frames_cfg: Mapping[str, Any], min_duration_s: float
) -> tuple[np.ndarray, np.ndarray, float]:
    info = probe(path)
    if not info.has_video:
        raise TrailerError(path, "no_video_stream", "the file has no video stream")
    if info.duration_s < min_duration_s:
        raise TrailerError(
            path, "too_short", f"{info.duration_s:.2f} s < minimum {min_duration_s:g} s"
        )
    stamps = frame_timestamps(
        info.duration_s, frames_cfg["start_s"], frames_cfg["end_s"], frames_cfg["count"]
    )
    return stamps, decode_frames(path, stamps), info.duration_s


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
            rate = self.frames / max(now - self.start, 1e-9)
            log.info(
                "%s: %d/%d trailers (%d not ok), %.1f frames/s",
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
        backbone = build_backbone(backbone_cfg["name"], str(backbone_cfg["weights"]))
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
                statuses.append(
                    TrailerStatus.from_error(trailer_id, path, "visual", exc.reason, exc.detail)
                )
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


def audio_features_for(path: Path, audio_cfg: Mapping[str, Any]) -> tuple[np.ndarray, bool, float]:
    """The 140-value vector of one trailer, whether its sound is silent, and its duration."""
    from moviegenre.features.audio import audio_vector, is_silent

    info = probe(path)
    if not info.has_audio:
        raise TrailerError(path, "no_audio_stream", "the file has no audio stream")
    signal = decode_audio(path, int(audio_cfg["sample_rate"]), float(audio_cfg["offset_s"]))
    try:
        vector = audio_vector(
            signal,
            int(audio_cfg["sample_rate"]),
            n_mfcc=int(audio_cfg["n_mfcc"]),
            lpc_order=int(audio_cfg["lpc_order"]),
            pooling=str(audio_cfg["pooling"]),
        )
    except ValueError as exc:
        raise TrailerError(path, "too_short", str(exc)) from exc
    return vector, is_silent(signal), info.duration_s


def extract_audio_shard(
    videos: Mapping[str, Path],
    features_path: Path,
    status_path: Path,
    audio_cfg: Mapping[str, Any],
) -> list[TrailerStatus]:
    """The audio vector of every trailer of a shard, one status row per trailer."""
    ids, vectors, silent, statuses = [], [], [], []
    progress = _Progress(f"audio {Path(features_path).stem}", len(videos))
    for trailer_id, path in videos.items():
        path = Path(path)
        try:
            vector, is_quiet, duration = audio_features_for(path, audio_cfg)
        except TrailerError as exc:
            statuses.append(
                TrailerStatus.from_error(trailer_id, path, "audio", exc.reason, exc.detail)
            )
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
    dim = len(vectors[0]) if vectors else 140
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    write_table_atomic(
        audio_table(ids, matrix, silent), Path(features_path), audio_metadata(audio_cfg, dim)
    )
    write_status_csv(statuses, Path(status_path))
    return statuses
