"""Import LMTD-9's published files into the project's own inputs (README.md, "Using LMTD-9").

``database.db`` is validated where it lies and used as the label file. The ResNet-152
feature pickle (a Python-2 pickle of ``"000002" -> float [n_frames, 2048]``) becomes
Parquet visual shards, so training reads real and synthetic data the same way. Trailer
videos are not copied: the folder is checked and the extraction reads it through params.

Unpickling runs whatever callables a pickle names, so the pickle is read by
``moviegenre.data.safe_pickle`` (numeric numpy arrays in a dict, built from checked claims,
nothing else): a doctored file fails before anything is written.
The original loader silently skipped entries that are not 2-D (misaligning labels); here
every unusable entry, and every id with labels but no features or the reverse, is reported.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moviegenre import paths
from moviegenre.atomic import write_atomic, write_json_atomic
from moviegenre.data.labels import read_labels, trailer_key
from moviegenre.data.safe_pickle import (
    ALLOWED_GLOBALS,
    FeaturePickleError,
    UnsafePickleError,
    load_array_dict,
)
from moviegenre.data.trailers import discover_trailers
from moviegenre.features.shard_metadata import visual_metadata
from moviegenre.features.shards import shard_name, shard_of, visual_table, write_table_atomic
from moviegenre.genres import GENRES_4, GENRES_9, SPLITS
from moviegenre.logs import log_problems

log = logging.getLogger("moviegenre.lmtd")

LMTD_DIM = 2048
IMPORT_REPORT = paths.RESULTS / "lmtd_import_report.json"
NO_VIDEOS_DIR = "data/lmtd9/no_videos"  # an empty folder: no audio, visual from the pickle
TIMESTAMPS_NOTE = "frame index (0, 1, 2, ...): the LMTD-9 pickle records no frame times"
FLOAT16_MAX = float(np.finfo(np.float16).max)

_SHARD_FILE = re.compile(r"shard-\d{4}\.parquet")


class LmtdImportError(ValueError):
    """Arguments or files that make an import impossible (missing pickle, videos folder, ...)."""


# ---- safe unpickling (moviegenre.data.safe_pickle) ------------------------------------


def _key_as_str(key: Any) -> str:
    if isinstance(key, bytes):
        return key.decode("latin1")
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    raise FeaturePickleError(f"feature key {key!r} is a {type(key).__name__}, not a string")


def load_feature_pickle(path: Path) -> dict[str, np.ndarray]:
    """LMTD-9's feature pickle as ``{"000002": array}``, read through the allow-list.

    Python-2 pickles are read with ``encoding="latin1"``; byte-string keys are decoded, so
    keys are always ``str``. Values are returned as found (the importer reports any that is
    not a usable array). Raises UnsafePickleError naming what was refused, or when the top
    level is not a dict; FeaturePickleError when the file is truncated or corrupt.
    """
    path = Path(path)
    obj = load_array_dict(path)
    features: dict[str, np.ndarray] = {}
    while obj:
        key, value = obj.popitem()
        name = _key_as_str(key)
        if name in features:
            raise FeaturePickleError(f"{path}: feature key {name!r} appears twice")
        features[name] = value
    return dict(sorted(features.items()))


# ---- import ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did; ``details`` is the JSON written to ``report_path``."""

    report_path: Path
    n_labelled: int
    n_feature_entries: int
    n_imported: int
    n_labelled_with_features: int
    n_videos: int | None
    shards: list[Path] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """One paragraph for the command line."""
        parts = [f"{self.n_labelled} labelled trailers"]
        if self.details.get("features_pickle"):
            parts.append(
                f"{self.n_imported} of {self.n_feature_entries} feature entries imported into "
                f"{len(self.shards)} shards ({self.n_labelled_with_features} labelled)"
            )
        if self.n_videos is not None:
            parts.append(f"{self.n_videos} labelled trailers have a video")
        issues = [f"{k.replace('_', ' ')}: {len(v)}" for k, v in self.problems.items() if v]
        text = "; ".join(parts)
        return text + (f". Problems: {', '.join(issues)}" if issues else ". No problems")


def _classify(value: Any, max_frames: int) -> tuple[str | None, np.ndarray | None]:
    """(problem, None) for an unusable entry, else (None, float16 [<=max_frames, 2048])."""
    if not isinstance(value, np.ndarray):
        return "not_an_array", None
    if value.dtype.kind != "f":
        return "not_float", None
    if value.ndim != 2:
        return "not_2d", None
    if value.shape[1] != LMTD_DIM:
        return "wrong_width", None
    if value.shape[0] == 0:
        return "empty", None
    kept = value[:max_frames]
    if not np.isfinite(kept).all():
        return "non_finite", None
    if float(np.abs(kept).max()) > FLOAT16_MAX:
        return "float16_overflow", None
    return None, kept.astype(np.float16)


MALFORMED_KINDS: tuple[str, ...] = (
    "not_an_array",
    "not_float",
    "not_2d",
    "wrong_width",
    "empty",
    "non_finite",
    "float16_overflow",
)


def _normalise_keys(features: dict[str, Any]) -> tuple[dict[str, str], list[str], list[str]]:
    """Pickle key -> trailer id ("2" -> "000002"); keys that name no trailer; duplicates."""
    ids: dict[str, str] = {}
    invalid: list[str] = []
    seen: dict[str, list[str]] = {}
    for key in features:
        if key.isascii() and key.isdigit():
            seen.setdefault(trailer_key(int(key)), []).append(key)
        else:
            invalid.append(key)
    duplicates: list[str] = []
    for trailer_id, keys in seen.items():
        if len(keys) > 1:
            duplicates.append(trailer_id)  # "2" and "000002": which is right is unknowable
        else:
            ids[keys[0]] = trailer_id
    return ids, sorted(invalid), sorted(duplicates)


def _write_shards(
    features: dict[str, Any], n_shards: int, shards_dir: Path, max_frames: int
) -> tuple[list[Path], dict[str, str], dict[str, int], dict[str, list[str]], dict[str, Any]]:
    """Convert and write shard by shard, popping each entry so memory shrinks as we go.

    Returns (files written, problem by id, frames by imported id, key problems, shapes).
    """
    key_to_id, invalid, duplicates = _normalise_keys(features)
    for key in [k for k in features if k not in key_to_id]:
        del features[key]
    groups: dict[int, list[str]] = {}
    for key, trailer_id in key_to_id.items():
        groups.setdefault(shard_of(trailer_id, n_shards), []).append(key)
    meta = dict(
        visual_metadata(
            {"name": "resnet152", "weights": "lmtd9_resnet152.pickle"},
            {"source": "lmtd9 pickle"},
            LMTD_DIM,
        ),
        source="lmtd9_pickle",
        timestamps=TIMESTAMPS_NOTE,
        max_frames=max_frames,
    )
    written: list[Path] = []
    problem_of: dict[str, str] = {}
    frames: dict[str, int] = {}
    shapes: dict[str, Any] = {}
    for index in sorted(groups):
        ids: list[str] = []
        arrays: list[np.ndarray] = []
        for key in sorted(groups[index], key=lambda k: key_to_id[k]):
            trailer_id = key_to_id[key]
            value = features.pop(key)
            problem, kept = _classify(value, max_frames)
            if problem is None:
                ids.append(trailer_id)
                arrays.append(kept)
                frames[trailer_id] = int(value.shape[0])
            else:
                problem_of[trailer_id] = problem
                shapes[trailer_id] = (
                    list(value.shape) if isinstance(value, np.ndarray) else type(value).__name__
                )
            del value, kept
        if not ids:
            continue
        stamps = [np.arange(len(a), dtype=np.float32) for a in arrays]
        table = visual_table(ids, stamps, arrays, LMTD_DIM)
        del arrays, stamps
        path = paths.shard_file(shards_dir, shard_name(index))
        write_table_atomic(table, path, meta)
        del table
        written.append(path)
    return (
        written,
        problem_of,
        frames,
        {"invalid_keys": invalid, "duplicate_keys": duplicates},
        shapes,
    )


def _remove_stale_shards(shards_dir: Path, keep: list[Path]) -> list[str]:
    """Shards of an earlier import (another shard count or pickle) that would mix in."""
    kept = {p.name for p in keep}
    removed = []
    for path in paths.shard_files(shards_dir):
        if _SHARD_FILE.fullmatch(path.name) and path.name not in kept:
            path.unlink()
            removed.append(path.name)
    return removed


def _counts(labels: pd.DataFrame, columns: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Per split and per genre: labelled trailers, and those with features / a video."""
    splits = {
        s: {
            name: int(((labels["split"] == s).to_numpy() & mask).sum())
            for name, mask in columns.items()
        }
        for s in SPLITS
    }
    genres = {
        g: {
            name: int((labels[g].to_numpy().astype(bool) & mask).sum())
            for name, mask in columns.items()
        }
        for g in GENRES_9
    }
    return splits, genres


def import_lmtd(
    db: Path,
    features_pickle: Path | None,
    videos_dir: Path | None,
    n_shards: int,
    out_root: Path = Path("."),
    max_frames: int = 240,
) -> ImportReport:
    """Turn LMTD-9's files into visual shards and a report; see the module docstring.

    Order matters: labels are validated (LabelError), the videos folder checked and the
    pickle loaded through the allow-list (UnsafePickleError) before anything is written.
    """
    _check_arguments(n_shards, max_frames, features_pickle, videos_dir)
    db, out_root = Path(db), Path(out_root)
    videos_dir = None if videos_dir is None else Path(videos_dir)
    labels = read_labels(db)
    labelled = labels["trailer_id"].tolist()
    videos, has_video = _videos_of(videos_dir, labelled)

    features: dict[str, Any] | None = None
    if features_pickle is not None:
        features_pickle = Path(features_pickle)
        if not features_pickle.is_file():
            raise LmtdImportError(f"feature pickle {features_pickle} does not exist")
        features = load_feature_pickle(features_pickle)  # refused: nothing written yet

    problems: dict[str, list[str]] = {}
    details: dict[str, Any] = {
        "labels_db": str(db),
        "features_pickle": None if features_pickle is None else str(features_pickle),
        "videos_dir": None if videos_dir is None else str(videos_dir),
        "n_shards": n_shards,
        "max_frames": max_frames,
    }
    columns: dict[str, np.ndarray] = {"labelled": np.ones(len(labelled), dtype=bool)}
    imported = _Imported()
    if features is not None:
        shards_dir = out_root / paths.VISUAL_FEATURES / paths.LMTD_VISUAL_NAME
        imported = _import_features(
            features, labels, n_shards, shards_dir, max_frames, problems, details
        )
        features = None  # the shards hold them now: let the arrays go
        columns["with_features"] = imported.has_features
    if videos is not None:
        columns["with_video"] = has_video
        problems["labelled_without_video"] = videos.pop("labelled_without_video")
        problems["videos_without_labels"] = videos.pop("videos_without_labels")
        details["videos"] = videos
    splits, genres = _counts(labels, columns)
    with_features = features_pickle is not None
    details["counts"] = {
        "labelled": len(labelled),
        "feature_entries": imported.n_entries if with_features else None,
        "imported": imported.n_imported if with_features else None,
        "labelled_with_features": imported.n_labelled if with_features else None,
        "labelled_with_video": int(has_video.sum()) if videos is not None else None,
    }
    details["splits"] = splits
    details["genres"] = genres
    details["problems"] = problems

    report_path = out_root / IMPORT_REPORT
    write_json_atomic(report_path, details)
    log_problems(log, problems, "lmtd import: ")
    return ImportReport(
        report_path=report_path,
        n_labelled=len(labelled),
        n_feature_entries=imported.n_entries,
        n_imported=imported.n_imported,
        n_labelled_with_features=imported.n_labelled,
        n_videos=int(has_video.sum()) if videos is not None else None,
        shards=imported.written,
        problems=problems,
        details=details,
    )


def _check_arguments(
    n_shards: int, max_frames: int, features_pickle: Path | None, videos_dir: Path | None
) -> None:
    if n_shards < 1:
        raise LmtdImportError(f"n_shards must be at least 1, got {n_shards}")
    if max_frames < 1:
        raise LmtdImportError(f"max_frames must be at least 1, got {max_frames}")
    if features_pickle is None and videos_dir is None:
        raise LmtdImportError("nothing to import: give the feature pickle, a videos folder or both")


def _videos_of(
    videos_dir: Path | None, labelled: list[str]
) -> tuple[dict[str, Any] | None, np.ndarray]:
    """(what the videos folder holds for the report, or None without one; whether each
    labelled trailer has a video)."""
    has_video = np.zeros(len(labelled), dtype=bool)
    if videos_dir is None:
        return None, has_video
    if not videos_dir.is_dir():
        raise LmtdImportError(f"videos folder {videos_dir} does not exist")
    found = discover_trailers(videos_dir)
    labelled_set = set(labelled)
    videos = {
        "dir": str(videos_dir),
        "files": len(found),
        "mp4_of_labelled": sum(1 for t in labelled if t in found and found[t].name == f"{t}.mp4"),
        "labelled_without_video": sorted(labelled_set - set(found)),
        "videos_without_labels": sorted(set(found) - labelled_set),
    }
    return videos, np.array([t in found for t in labelled], dtype=bool)


@dataclass
class _Imported:
    """What the feature pickle gave: shards written, entries read and imported, labelled
    trailers with features (which of them: ``has_features``, in label order)."""

    written: list[Path] = field(default_factory=list)
    n_entries: int = 0
    n_imported: int = 0
    n_labelled: int = 0
    has_features: np.ndarray | None = None


def _import_features(
    features: dict[str, Any],
    labels: pd.DataFrame,
    n_shards: int,
    shards_dir: Path,
    max_frames: int,
    problems: dict[str, list[str]],
    details: dict[str, Any],
) -> _Imported:
    """Write the pickle's usable entries as shards, remove an earlier import's, and record
    the entries' problems and the frame counts in ``problems`` and ``details``."""
    labelled = labels["trailer_id"].tolist()
    labelled_set = set(labelled)
    n_entries = len(features)
    written, problem_of, frames, key_problems, shapes = _write_shards(
        features, n_shards, shards_dir, max_frames
    )
    stale = _remove_stale_shards(shards_dir, written) if shards_dir.is_dir() else []
    for kind in MALFORMED_KINDS:
        problems[kind] = sorted(t for t, p in problem_of.items() if p == kind)
    problems.update(key_problems)
    imported = set(frames)
    problems["labelled_without_features"] = sorted(labelled_set - imported)
    problems["features_without_labels"] = sorted(imported - labelled_set)
    has_features = np.array([t in imported for t in labelled], dtype=bool)
    four = labels[list(GENRES_4)].to_numpy().any(axis=1)
    counts = np.array(sorted(frames.values()), dtype=np.int64)
    details.update(
        visual_features_dir=str(paths.VISUAL_FEATURES / paths.LMTD_VISUAL_NAME),
        shards_written=[p.name for p in written],
        stale_shards_removed=stale,
        timestamps=TIMESTAMPS_NOTE,
        frames={
            "min": int(counts.min()) if len(counts) else None,
            "median": float(np.median(counts)) if len(counts) else None,
            "max": int(counts.max()) if len(counts) else None,
            "truncated_to_max_frames": int((counts > max_frames).sum()),
        },
        malformed_shapes=dict(sorted(shapes.items())),
        four_genres_with_features=int((four & has_features).sum()),
    )
    return _Imported(written, n_entries, len(frames), int(has_features.sum()), has_features)


# ---- params.yaml ------------------------------------------------------------------------


def _as_posix(path: Path | str | None) -> str | None:
    return None if path is None else Path(path).as_posix()


def lmtd_params(db: Path, features_pickle: Path | None, videos_dir: Path | None) -> dict:
    """The ``data:`` section that points a run at imported LMTD-9 data."""
    return {
        "source": "lmtd9",
        "videos_dir": _as_posix(videos_dir) or NO_VIDEOS_DIR,
        "labels_db": _as_posix(db),
        "lmtd": {
            "db": _as_posix(db),
            "features_pickle": _as_posix(features_pickle),
            "videos_dir": _as_posix(videos_dir),
        },
    }


def _assign_in_place(target: Any, new: Mapping[str, Any]) -> None:
    """Make ``target`` (a ruamel CommentedMap) equal ``new`` key by key, so the comments
    attached to keys that stay survive."""
    for key in [k for k in target if k not in new]:
        del target[key]
    for key, value in new.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            _assign_in_place(current, value)
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value


def update_params_file(params_path: Path, data_section: dict) -> None:
    """Rewrite only ``data:`` of params.yaml, keeping comments and every other key as is.

    The result is validated (ConfigError, file untouched) and replaces the file atomically.
    """
    import yaml as pyyaml
    from ruamel.yaml import YAML

    from moviegenre.config import ConfigError, validate_config

    params_path = Path(params_path)
    rt = YAML()  # None is written empty (`key:`), as `dvc exp run -S` writes params.yaml
    rt.preserve_quotes = True
    rt.width = 4096
    doc = rt.load(params_path.read_text(encoding="utf-8"))
    if not isinstance(doc, Mapping) or not isinstance(doc.get("data"), Mapping):
        raise ConfigError(f"{params_path}: no data: section to update")
    _assign_in_place(doc["data"], data_section)
    with tempfile.SpooledTemporaryFile(mode="w+", encoding="utf-8") as buffer:
        rt.dump(doc, buffer)
        buffer.seek(0)
        text = buffer.read()
    validate_config(pyyaml.safe_load(text))

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        shutil.copymode(params_path, tmp)

    write_atomic(params_path, write)


__all__ = [
    "ALLOWED_GLOBALS",
    "FeaturePickleError",
    "IMPORT_REPORT",
    "ImportReport",
    "LmtdImportError",
    "UnsafePickleError",
    "import_lmtd",
    "lmtd_params",
    "load_feature_pickle",
    "update_params_file",
]
