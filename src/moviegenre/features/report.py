"""The extraction report: one row per trailer with each modality's outcome, and a summary."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from moviegenre import paths
from moviegenre.atomic import write_atomic, write_json_atomic
from moviegenre.data.trailers import Rejected
from moviegenre.features.status import TrailerStatus, read_status_csv, summarize

REPORT_COLUMNS = (
    "trailer_id",
    "file",
    "shard",  # where the features are: the data set reads them there (moviegenre.dataset)
    "duration_s",
    "visual_status",
    "visual_reason",
    "visual_detail",
    "n_frames",
    "audio_status",
    "audio_reason",
    "audio_detail",
    "flags",
)


def build_report(rows: Sequence[TrailerStatus], trailers: Mapping[str, str]) -> pd.DataFrame:
    """Join the shard status rows per trailer; trailers no job reported are marked missing."""
    by_id: dict[tuple[str, str], dict] = {
        (tid, Path(path).name): {"trailer_id": tid, "file": Path(path).name}
        for tid, path in trailers.items()
    }
    for row in rows:  # keyed by file too: a folder x.mp4 and a video x.mkv are two rows
        entry = by_id.setdefault(
            (row.trailer_id, row.file), {"trailer_id": row.trailer_id, "file": row.file}
        )
        if row.shard:
            entry["shard"] = row.shard
        entry[f"{row.stage}_status"] = row.status
        entry[f"{row.stage}_reason"] = row.reason
        entry[f"{row.stage}_detail"] = row.detail
        if row.stage == "visual":
            entry["n_frames"] = row.n_frames
        if row.duration_s == row.duration_s:  # not NaN
            entry["duration_s"] = round(row.duration_s, 3)
        if row.flags:
            entry["flags"] = ";".join(filter(None, [entry.get("flags", ""), row.flags]))
    frame = pd.DataFrame(list(by_id.values()), columns=list(REPORT_COLUMNS))
    return frame.sort_values(["trailer_id", "file"]).reset_index(drop=True)


def rows_of_this_run(status_files: Sequence[Path], run_started: Path) -> list[TrailerStatus]:
    """Every shard's status rows with their origin: "extracted" or "reused" as the job that
    wrote them recorded (paths.origins_file), or "kept" for the shards written before this
    run began (the marker Snakemake's onstart writes), so the summary counts only what this
    run decoded or reused."""
    try:
        started_ns = int(Path(run_started).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        started_ns = None  # no marker (run by hand): every shard counts as this run's
    rows = []
    for path in status_files:
        shard_rows = read_status_csv(Path(path))
        if started_ns is not None and Path(path).stat().st_mtime_ns < started_ns:
            origins = ["kept"] * len(shard_rows)
        else:
            try:
                origins = json.loads(paths.origins_file(path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                origins = []
            if len(origins) != len(shard_rows):
                origins = ["extracted"] * len(shard_rows)  # no record: count it as decoded
        for row, origin in zip(shard_rows, origins, strict=True):
            row.origin, row.shard = origin, paths.shard_name_of(path)
            rows.append(row)
    return rows


def rejected_rows(rejected: Sequence[Rejected], stages: Sequence[str]) -> list[TrailerStatus]:
    """Status rows (failed, with the reason) for folder entries that were never extracted."""
    rows = [
        TrailerStatus.from_error(r.trailer_id, Path(r.name), stage, r.reason, r.detail)
        for r in rejected
        for stage in stages
    ]
    for row in rows:
        row.origin = ""  # never opened: neither extracted nor reused
    return rows


def problem_files(rows: Sequence[TrailerStatus]) -> dict[str, dict[str, str]]:
    """File name -> {stage: "skipped: reason"} for every trailer not ok in some modality.

    Lets the summary name the bad files without opening the per-trailer CSV.
    """
    problems: dict[str, dict[str, str]] = {}
    for row in sorted(rows, key=lambda r: (r.file, r.stage)):
        if row.status != "ok":
            problems.setdefault(row.file, {})[row.stage] = f"{row.status}: {row.reason}"
    return problems


def summary_text(summary: dict, n_trailers: int) -> str:
    """One line per run: outcomes per modality and what this run decoded or reused."""
    parts = [f"{n_trailers} trailers"]
    for stage in ("visual", "audio"):
        if stage not in summary:
            continue
        counts = summary[stage]
        text = f"{stage}: {counts['ok']} ok"
        for kind in ("skipped", "failed"):
            if counts[kind]:
                reasons = ", ".join(f"{k} {v}" for k, v in sorted(counts[kind].items()))
                text += f", {sum(counts[kind].values())} {kind} ({reasons})"
        text += (
            f" [this run: {counts['extracted']} extracted ({counts['failed_now']} failed),"
            f" {counts['reused']} reused from the feature store"
        )
        text += f"; {counts['kept']} in shards not rerun]" if counts["kept"] else "]"
        parts.append(text)
    return "; ".join(parts)


def write_report(
    rows: Sequence[TrailerStatus],
    trailers: Mapping[str, str],
    report_path: Path,
    summary_path: Path,
    rejected: Sequence[Rejected] = (),
) -> dict:
    """Write the CSV report and a JSON summary (both atomically); return the summary.

    Rejected folder entries (FIFOs, folders, bad names, ...) count as failed in every stage
    the run has. Text fields are quoted, so a name holding CR or LF reads back as one row.
    """
    stages = sorted({row.stage for row in rows}) or ["audio", "visual"]
    rows = [*rows, *rejected_rows(rejected, stages)]
    report = build_report(rows, trailers)
    summary = summarize(rows)
    summary = {
        "n_trailers": len(report),
        "stages": summary,
        "problems": problem_files(rows),
        "text": summary_text(summary, len(report)),
    }
    write_atomic(
        report_path,
        lambda tmp: report.to_csv(tmp, index=False, quoting=csv.QUOTE_NONNUMERIC),
    )
    write_json_atomic(summary_path, summary)
    return summary
