"""One shard's genres: the bundle's model applied to the features its extraction jobs wrote.

The per-trailer arithmetic is `moviegenre predict`'s (Predictor.result: the same padding,
fold averaging, SVM fusion, fallbacks and thresholds), applied to the shard's stored
features instead of freshly embedded frames, so both give the same probabilities.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moviegenre.bundle import Bundle, BundleError
from moviegenre.classify.table import ArchiveRow
from moviegenre.features.shards import read_audio_shard, read_visual_shard
from moviegenre.features.status import TrailerStatus, read_status_csv
from moviegenre.predict import Predictor, TrailerFeatures, bundle_id

log = logging.getLogger("moviegenre.classify")


@dataclass
class ShardInputs:
    """What the extraction jobs wrote for one shard (audio only when the model reads sound)."""

    videos: Sequence[Path]
    visual: Path
    visual_status: Path
    audio: Path | None = None
    audio_status: Path | None = None


def check_bundle(bundle: Bundle, expected_id: str) -> None:
    """Refuse a bundle rebuilt since the DAG was planned: shards would mix two bundles."""
    found = bundle_id(bundle)
    if found != expected_id:
        raise BundleError(
            f"{bundle.directory} changed since this run was planned (bundle {found}, the run "
            f"was planned with {expected_id}): run the same command again to classify every "
            "shard with the new bundle"
        )


def _audio_flags(flags: str) -> str:
    """The audio notes other than `silent` (predict reports silence in its own column)."""
    return ";".join(f for f in flags.split(";") if f and f != "silent")


def _features(
    path: Path,
    visual: np.ndarray,
    audio_row: TrailerStatus | None,
    vectors: Mapping[str, np.ndarray],
) -> TrailerFeatures:
    """The predictor's view of one trailer, as `moviegenre predict` would have built it."""
    feats = TrailerFeatures(path, visual, None)
    if audio_row is None:
        return feats
    if audio_row.status == "ok" and audio_row.trailer_id in vectors:
        feats.audio = np.asarray(vectors[audio_row.trailer_id], dtype=np.float32)
        feats.silent = "silent" in audio_row.flags.split(";")
        feats.audio_flags = _audio_flags(audio_row.flags)
    else:
        feats.audio_reason = f"{audio_row.reason}: {audio_row.detail}"
    return feats


def score_shard(predictor: Predictor, inputs: ShardInputs) -> list[ArchiveRow]:
    """Each trailer's row in trailer-id order: genres, or the extraction's reason."""
    by_id = {Path(p).stem: Path(p) for p in inputs.videos}
    visual_rows = {row.trailer_id: row for row in read_status_csv(inputs.visual_status)}
    shard = read_visual_shard(inputs.visual)
    frames = {tid: i for i, tid in enumerate(shard.trailer_ids)}
    audio_rows: dict[str, TrailerStatus] = {}
    vectors: dict[str, np.ndarray] = {}
    if predictor.needs_audio and inputs.audio_status is not None and inputs.audio is not None:
        audio_rows = {row.trailer_id: row for row in read_status_csv(inputs.audio_status)}
        ids, matrix, _, _ = read_audio_shard(inputs.audio)
        vectors = dict(zip(ids, matrix, strict=True))
    rows = []
    for trailer_id, path in sorted(by_id.items()):
        status = visual_rows.get(trailer_id)
        if status is None:  # cannot happen with the DAG's own shard files
            rows.append(ArchiveRow.refused(path, "failed", "not_extracted", "no status row"))
        elif status.status != "ok" or trailer_id not in frames:
            rows.append(ArchiveRow.refused(path, status.status, status.reason, status.detail))
        else:
            feats = _features(
                path, shard.of(frames[trailer_id]), audio_rows.get(trailer_id), vectors
            )
            rows.append(_scored(predictor, feats))
    return rows


def _scored(predictor: Predictor, feats: TrailerFeatures) -> ArchiveRow:
    try:
        result = predictor.result(feats, str(feats.path), 0.0)
    except Exception as exc:  # noqa: BLE001 - one trailer's scoring must not stop the shard
        return ArchiveRow.refused(feats.path, "failed", "scoring_failed", repr(exc))
    return ArchiveRow.scored(result)


def score_shard_file(
    bundle_dir: str | Path,
    expected_bundle_id: str,
    model: str,
    inputs: ShardInputs,
    out: Path,
    backbone_weights: str | None = None,
    threads: int = 1,
) -> list[ArchiveRow]:
    """The scoring job: open the bundle the run was planned with, score, write the rows."""
    from moviegenre.bundle import load_bundle
    from moviegenre.classify.table import rows_table, write_parquet_atomic

    # the predictor hashes each model file as it loads it (Bundle.verified_files)
    bundle = load_bundle(bundle_dir, verify_hashes=False)
    check_bundle(bundle, expected_bundle_id)
    predictor = Predictor(bundle, model, backbone_weights, threads, embed=False)
    rows = score_shard(predictor, inputs)
    meta = {"bundle_id": expected_bundle_id, "model": predictor.model}
    write_parquet_atomic(rows_table(rows, predictor.genres, predictor.thresholds, meta), out)
    done = sum(r.status == "ok" for r in rows)
    log.info("%s: %d of %d trailers classified with %s", out.name, done, len(rows), model)
    return rows
