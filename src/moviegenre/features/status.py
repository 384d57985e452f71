"""Per-trailer outcome of extraction: ok, skipped (by input policy) or failed (with reason).

Every shard job writes one row per trailer it was given, so the extraction report can say
exactly what happened to each file, and nothing is dropped silently.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from moviegenre import paths
from moviegenre.atomic import write_atomic, write_json_atomic

# Reasons that describe the input, not a fault: the trailer is skipped for that modality.
SKIP_REASONS = frozenset({"too_short", "no_audio_stream", "no_video_stream"})


@dataclass
class TrailerStatus:
    trailer_id: str
    file: str
    stage: str  # "visual" or "audio"
    status: str  # "ok", "skipped" or "failed"
    reason: str = ""
    detail: str = ""
    duration_s: float = float("nan")
    n_frames: int = 0
    flags: str = ""  # e.g. "silent"
    # "extracted" (decoded by this job) or "reused" (taken from the feature store); failed
    # rows are always extracted: failures are not stored, the next run tries again
    origin: str = "extracted"
    store_key: str = ""  # the feature-store entry (features/store.py), for `moviegenre cache`
    # the shard whose status file holds the row (paths.shard_name_of): the report records it, so
    # the data set reads each trailer's features from the shard extraction wrote them to
    shard: str = ""

    @classmethod
    def from_error(
        cls, trailer_id: str, file: Path, stage: str, reason: str, detail: str
    ) -> TrailerStatus:
        status = "skipped" if reason in SKIP_REASONS else "failed"
        return cls(trailer_id, file.name, stage, status, reason, detail)


# The CSV's columns: not `origin`, which says how this run got a row, not what the row is,
# so a rerun that takes everything from the feature store writes byte-identical status
# files and DVC sees results/features unchanged (origins go to results/logs, paths.py);
# not `shard`, which the status file's own name says.
STATUS_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(TrailerStatus) if f.name not in ("origin", "shard")
)


def write_status_csv(rows: Iterable[TrailerStatus], path: Path) -> None:
    """Write rows atomically (temporary name, then rename), so a kill leaves no half file."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=STATUS_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(asdict(row))

    write_atomic(path, write)


def write_origins(statuses: Sequence[TrailerStatus], status_path: Path) -> None:
    """Record how each row of a shard's status file was obtained ("extracted" or "reused"),
    beside the shard's log (paths.origins_file): read by the run's summary."""
    write_json_atomic(paths.origins_file(status_path), [row.origin for row in statuses])


def read_status_csv(path: Path) -> list[TrailerStatus]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = []
        for raw in csv.DictReader(handle):
            raw["duration_s"] = float(raw["duration_s"]) if raw["duration_s"] else float("nan")
            raw["n_frames"] = int(raw["n_frames"] or 0)
            rows.append(TrailerStatus(**raw))
        return rows


# "kept": the row of a shard that this run did not rerun (the report sets it)
ORIGINS = ("reused", "extracted", "kept")


def summarize(rows: Sequence[TrailerStatus]) -> dict:
    """Counts per stage: ok, skipped and failed by reason; reused and extracted (decoded)."""
    summary: dict[str, dict] = {}
    for row in rows:
        stage = summary.setdefault(
            row.stage,
            {"ok": 0, "skipped": {}, "failed": {}, **dict.fromkeys(ORIGINS, 0), "failed_now": 0},
        )
        if row.origin in ORIGINS:
            stage[row.origin] += 1
        # failed in this run: attempted (so counted in "extracted") and not stored
        stage["failed_now"] += row.status == "failed" and row.origin == "extracted"
        if row.status == "ok":
            stage["ok"] += 1
        else:
            bucket = stage[row.status]
            bucket[row.reason] = bucket.get(row.reason, 0) + 1
    return summary
