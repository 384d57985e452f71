"""The archive's table: one row per file (genres and probabilities, or why there are none).

Each scoring job writes its shard's rows as Parquet; the gather job concatenates them with
the folder entries the DAG refused into `genres.parquet` and `genres.csv` (the same rows),
and `summary.json`. Probabilities are float32 as the models give them; each genre's
threshold sits beside its probability so that a row explains its own genres.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from moviegenre.atomic import write_atomic, write_json_atomic
from moviegenre.features.report import rows_of_this_run
from moviegenre.predict import TrailerResult

#: the columns before each genre's probability and threshold, in the table's order
FIXED_COLUMNS = (
    "path",
    "trailer_id",
    "status",  # ok | skipped (by input policy: too short, no video) | failed | rejected
    "reason",
    "detail",
    "predicted",  # the genres over their thresholds, joined by ";"
    "audio_missing",
    "audio_reason",
    "audio_flags",
    "fallback",
)
STATUSES = ("ok", "skipped", "failed", "rejected")


def threshold_column(genre: str) -> str:
    return f"{genre}_threshold"


@dataclass
class ArchiveRow:
    """One file's outcome; ``probabilities`` in genre order when status is ok."""

    path: str
    status: str
    reason: str = ""
    detail: str = ""
    predicted: list[str] = field(default_factory=list)
    audio_missing: bool = False
    audio_reason: str = ""
    audio_flags: str = ""
    fallback: str = ""
    probabilities: np.ndarray | None = None

    @property
    def trailer_id(self) -> str:
        return Path(self.path).stem

    @classmethod
    def scored(cls, result: TrailerResult) -> ArchiveRow:
        return cls(
            path=result.path,
            status="ok",
            predicted=list(result.predicted),
            audio_missing=result.audio_missing,
            audio_reason=result.audio_reason,
            audio_flags=";".join(
                f for f in ("silent" if result.silent else "", result.audio_flags) if f
            ),
            fallback=result.fallback,
            probabilities=np.asarray(result.probabilities, dtype=np.float32),
        )

    @classmethod
    def refused(cls, path: str | Path, status: str, reason: str, detail: str) -> ArchiveRow:
        return cls(path=str(path), status=status, reason=reason, detail=detail)


def schema(genres: Sequence[str]) -> pa.Schema:
    fields = [
        pa.field(name, pa.bool_() if name == "audio_missing" else pa.string())
        for name in FIXED_COLUMNS
    ]
    for genre in genres:
        fields.append(pa.field(genre, pa.float32()))
    for genre in genres:
        fields.append(pa.field(threshold_column(genre), pa.float64()))
    return pa.schema(fields)


def rows_table(
    rows: Sequence[ArchiveRow],
    genres: Sequence[str],
    thresholds: np.ndarray,
    metadata: Mapping[str, Any],
) -> pa.Table:
    """The rows as an Arrow table (thresholds on ok rows; empty where there are no scores)."""
    columns: dict[str, list] = {name: [] for name in FIXED_COLUMNS}
    for row in rows:
        for name in FIXED_COLUMNS:
            value = row.trailer_id if name == "trailer_id" else getattr(row, name)
            columns[name].append(";".join(value) if name == "predicted" else value)
    for g, genre in enumerate(genres):
        columns[genre] = [
            None if r.probabilities is None else float(r.probabilities[g]) for r in rows
        ]
        columns[threshold_column(genre)] = [
            None if r.probabilities is None else float(thresholds[g]) for r in rows
        ]
    return _with_metadata(pa.table(columns, schema=schema(genres)), metadata)


def _with_metadata(table: pa.Table, metadata: Mapping[str, Any]) -> pa.Table:
    """The run's bundle id, model (and archive, thresholds) in the Parquet schema."""
    meta = {b"moviegenre": json.dumps(dict(metadata), sort_keys=True).encode("utf-8")}
    return table.replace_schema_metadata(meta)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return " ".join(str(value).splitlines())  # one row is one line


def write_csv_atomic(table: pa.Table, path: Path) -> None:
    """The table as CSV: probabilities as Python's shortest exact repr of the float32."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.column_names)
            for batch in table.to_batches(max_chunksize=4096):
                for record in batch.to_pylist():
                    writer.writerow([_csv_cell(v) for v in record.values()])

    write_atomic(path, write)


def gather(
    shard_files: Iterable[Path],
    rejected_rows: Sequence[ArchiveRow],
    genres: Sequence[str],
    thresholds: np.ndarray,
    metadata: Mapping[str, Any],
) -> pa.Table:
    """Every shard's rows and the refused folder entries, sorted by path."""
    parts = [pq.read_table(path) for path in sorted(shard_files)]
    parts.append(rows_table(rejected_rows, genres, thresholds, metadata))
    target = schema(genres)
    table = pa.concat_tables([part.cast(target) for part in parts])
    return _with_metadata(table.sort_by([("path", "ascending")]), metadata)


def summarize(table: pa.Table, origins: Mapping[str, Counter]) -> dict[str, Any]:
    """Counts for the run's last line and summary.json: outcomes, reasons, reuse."""
    status = Counter(table.column("status").to_pylist())
    reasons = Counter(
        f"{s}: {r}"
        for s, r in zip(
            table.column("status").to_pylist(), table.column("reason").to_pylist(), strict=True
        )
        if s != "ok"
    )
    audio_missing = sum(bool(v) for v in table.column("audio_missing").to_pylist())
    summary: dict[str, Any] = {
        "files": table.num_rows,
        **{name: status.get(name, 0) for name in STATUSES},
        "audio_missing": audio_missing,
        "reasons": dict(sorted(reasons.items())),
        "features": {kind: dict(counts) for kind, counts in origins.items()},
    }
    visual = origins.get("visual", Counter())
    summary["text"] = (
        f"{summary['ok']} of {summary['files']} files classified "
        f"({summary['skipped']} skipped, {summary['failed']} failed, "
        f"{summary['rejected']} rejected, {audio_missing} without sound); visual features: "
        f"{visual.get('reused', 0)} reused from the feature store, "
        f"{visual.get('extracted', 0)} decoded"
        + (f", {visual['kept']} kept from earlier runs" if visual.get("kept") else "")
    )
    return summary


def origins_of(status_files: Sequence[Path], run_started: Path) -> dict[str, Counter]:
    """How this run got each modality's rows: decoded ("extracted"), taken from the feature
    store ("reused"), or "kept" in a shard no job of this run rewrote (features/report.py's
    rows_of_this_run, as the extraction summary counts them)."""
    counts: dict[str, Counter] = {}
    for row in rows_of_this_run(status_files, run_started):
        counts.setdefault(row.stage, Counter())[row.origin] += 1
    return counts


def write_archive_table(
    scores: Sequence[Path],
    status_files: Sequence[Path],
    rejected: Sequence[Sequence[str]],
    run_started: Path,
    archive: Path,
    bundle_dir: Path,
    model: str,
    bundle_id: str,
    outputs: Mapping[str, Path],
) -> dict[str, Any]:
    """The gather job: genres.parquet, genres.csv (same rows) and summary.json."""
    from moviegenre.bundle import load_bundle

    bundle = load_bundle(bundle_dir, verify_hashes=False)  # only the manifest is read
    genres, thresholds = bundle.genres, bundle.thresholds(model)
    metadata = {
        "bundle_id": bundle_id,
        "model": model,
        "archive": str(archive),
        "thresholds": dict(zip(genres, map(float, thresholds), strict=True)),
    }
    refused = [ArchiveRow.refused(archive / name, "rejected", r, d) for name, r, d in rejected]
    table = gather(scores, refused, genres, thresholds, metadata)
    write_parquet_atomic(table, outputs["parquet"])
    write_csv_atomic(table, outputs["csv"])
    summary = summarize(table, origins_of(status_files, run_started))
    summary.update(metadata)
    write_json_atomic(outputs["summary"], summary)
    return summary
