"""Importing LMTD-9's published files: safe unpickling, shards, report, params, data sets."""

from __future__ import annotations

import base64
import builtins
import json
import os
import pickle
import pickletools
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO
from lmtd_fixtures import (
    LMTD_GOOD_FRAMES,
    LMTD_LABELS,
    LMTD_MALFORMED,
    LMTD_MAX_FRAMES,
    LMTD_N_SHARDS,
    lmtd_features,
    write_lmtd_style_pickle,
)

from moviegenre import paths
from moviegenre.config import ConfigError, load_params
from moviegenre.data.label_writer import write_lmtd_db
from moviegenre.data.labels import LabelError
from moviegenre.data.lmtd import (
    ALLOWED_GLOBALS,
    FeaturePickleError,
    LmtdImportError,
    UnsafePickleError,
    import_lmtd,
    lmtd_params,
    load_feature_pickle,
    update_params_file,
)
from moviegenre.dataset import build_dataset
from moviegenre.dataset_files import load_dataset
from moviegenre.features.shards import read_visual_shard, shard_of
from moviegenre.genres import GENRES_9

# Written by Python 2.7's cPickle (protocol 2) from {"000002": float32 [2, 3] (0, 0.25, ...),
# "000123": float32 [3, 3] (25, 25.25, ...)} through numpy 1.x's __reduce__ forms.
PY2_CPICKLE = base64.b64decode(
    "gAJ9cQEoVQYwMDAwMDJxAmNudW1weS5jb3JlLm11bHRpYXJyYXkKX3JlY29uc3RydWN0CnEDY251bXB5Cm5kYXJy"
    "YXkKcQRLAIVxBVUBYodScQYoSwFLAksDhnEHY251bXB5CmR0eXBlCnEIVQJmNHEJSwBLAYdScQooSwNVATxOTk5K"
    "/////0r/////SwB0cQtiiVUYAAAAAAAAgD4AAAA/AABAPwAAgD8AAKA/cQx0YlUGMDAwMTIzcQ1oA2gEaAVVAWKH"
    "UnEOKEsBSwNLA4ZxD2gIaAlLAEsBh1JxEGgLYolVJAAAyEEAAMpBAADMQQAAzkEAANBBAADSQQAA1EEAANZBAADY"
    "QXERdGJ1Lg=="
)


@pytest.fixture(scope="module")
def lmtd(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """database.db and a Python-2-style feature pickle, like the published files."""
    root = tmp_path_factory.mktemp("lmtd9")
    ids = list(LMTD_LABELS)
    labels9 = np.array([[g in LMTD_LABELS[i][1] for g in GENRES_9] for i in ids], dtype=np.int64)
    db = root / "database.db"
    write_lmtd_db(db, ids, [LMTD_LABELS[i][0] for i in ids], labels9)
    features = lmtd_features()
    pkl = root / "lmtd9_resnet152.pickle"
    write_lmtd_style_pickle(pkl, features)
    return {"db": db, "pickle": pkl, "features": features}


def _dump(tmp_path: Path, obj: object, protocol: int = 2) -> Path:
    path = tmp_path / f"features-{uuid.uuid4().hex[:8]}.pickle"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


# ---- safe unpickling ---------------------------------------------------------------------


def test_real_python2_cpickle_bytes_load_with_str_keys(tmp_path: Path) -> None:
    path = tmp_path / "py2.pickle"
    path.write_bytes(PY2_CPICKLE)
    loaded = load_feature_pickle(path)
    assert list(loaded) == ["000002", "000123"]
    assert all(type(k) is str for k in loaded)
    np.testing.assert_array_equal(
        loaded["000002"], np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    )
    np.testing.assert_array_equal(
        loaded["000123"], (100 + np.arange(9, dtype=np.float32)).reshape(3, 3) / 4
    )
    assert loaded["000123"].dtype == np.float32


def test_lmtd_style_writer_speaks_python2(lmtd: dict) -> None:
    """The fabricated pickle uses Python 2's opcodes: byte-string keys and payloads."""
    ops = {op.name for op, _, _ in pickletools.genops(lmtd["pickle"].read_bytes())}
    assert {"SHORT_BINSTRING", "BINSTRING", "GLOBAL", "BINGET", "REDUCE", "BUILD"} <= ops
    assert not ops & {"BINUNICODE", "SHORT_BINUNICODE", "BINBYTES", "STACK_GLOBAL"}
    loaded = load_feature_pickle(lmtd["pickle"])
    assert set(loaded) == set(lmtd["features"])
    for key, value in lmtd["features"].items():
        np.testing.assert_array_equal(loaded[key], value)


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("bytes_keys", [False, True])
def test_python3_pickles_with_str_or_bytes_keys_load(
    tmp_path: Path, protocol: int, bytes_keys: bool
) -> None:
    arr = np.arange(3 * 2048, dtype=np.float32).reshape(3, 2048)
    small = np.ones((1, 4), dtype=np.float64)
    key = b"000002" if bytes_keys else "000002"
    loaded = load_feature_pickle(_dump(tmp_path, {key: arr, "000123": small}, protocol))
    assert list(loaded) == ["000002", "000123"]
    np.testing.assert_array_equal(loaded["000002"], arr)
    np.testing.assert_array_equal(loaded["000123"], small)


def test_allow_list_is_exactly_numpy_array_reconstruction() -> None:
    assert set(ALLOWED_GLOBALS) == {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
        ("__builtin__", "bytes"),  # b"" as Python 3 writes it in protocol 2: empty arrays
        ("builtins", "bytes"),
    }


class _System:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Popen(_System):
    def __reduce__(self):
        return (subprocess.Popen, (["touch", str(self.marker)],))


class _Eval(_System):
    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


class _Plain:
    """An ordinary object: protocol 1 pickles it through copy_reg._reconstructor."""


@pytest.mark.parametrize(
    ("payload", "protocol", "refused"),
    [
        (_System, 2, f"{os.system.__module__}.system"),
        (_Popen, 2, "subprocess.Popen"),
        (_Eval, 2, "__builtin__.eval"),
        (_Eval, 4, "builtins.eval"),
        (lambda _: _Plain(), 1, "copy_reg._reconstructor"),
        (lambda _: np.array([1, "x"], dtype=object), 2, "numpy.dtype('O8')"),
        (lambda _: [np.ones((2, 2048), np.float32)], 2, "top-level object is a builtins.list"),
    ],
)
def test_malicious_pickles_are_refused_and_nothing_is_written(
    lmtd: dict, tmp_path: Path, payload, protocol: int, refused: str
) -> None:
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    obj = payload(marker)
    if not isinstance(obj, list):
        obj = {"000002": np.ones((3, 2048), np.float32), "000005": obj}
    path = _dump(tmp_path, obj, protocol)
    out = tmp_path / "out"
    with pytest.raises(UnsafePickleError) as caught:
        import_lmtd(lmtd["db"], path, None, LMTD_N_SHARDS, out_root=out)
    assert refused in str(caught.value)
    assert not marker.exists()
    assert not out.exists()  # no shard, no report, not even the folders


def test_back_reference_to_a_dropped_payload_is_an_error(tmp_path: Path) -> None:
    """Array payloads are not kept in the memo; a pickle that reuses one is not LMTD's."""
    big = b"x" * 100_000
    data = b"\x80\x02]q\x01(T" + len(big).to_bytes(4, "little") + big + b"q\x02h\x02e."
    path = tmp_path / "reuse.pickle"
    path.write_bytes(data)
    with pytest.raises(FeaturePickleError, match="refers back"):
        load_feature_pickle(path)


def test_truncated_pickle_is_a_clear_error(lmtd: dict, tmp_path: Path) -> None:
    path = tmp_path / "truncated.pickle"
    path.write_bytes(lmtd["pickle"].read_bytes()[:5000])
    with pytest.raises(FeaturePickleError, match="truncated.pickle"):
        import_lmtd(lmtd["db"], path, None, LMTD_N_SHARDS, out_root=tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- import --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imported(lmtd: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("imported")
    report = import_lmtd(lmtd["db"], lmtd["pickle"], None, LMTD_N_SHARDS, out, LMTD_MAX_FRAMES)
    return {"out": out, "report": report}


def test_import_report_counts_and_problems_by_id(imported: dict) -> None:
    report = imported["report"]
    assert report.n_labelled == len(LMTD_LABELS)
    assert report.n_feature_entries == len(LMTD_GOOD_FRAMES) + len(LMTD_MALFORMED)
    assert report.n_imported == len(LMTD_GOOD_FRAMES)
    assert report.n_labelled_with_features == len(LMTD_GOOD_FRAMES) - 1
    saved = json.loads((imported["out"] / "results/lmtd_import_report.json").read_text())
    assert saved == json.loads(json.dumps(report.details))
    problems = saved["problems"]
    for trailer_id, kind in LMTD_MALFORMED.items():
        assert trailer_id in problems[kind], (trailer_id, kind)
    assert sum(len(problems[k]) for k in set(LMTD_MALFORMED.values())) == len(LMTD_MALFORMED)
    assert saved["malformed_shapes"]["000031"] == [2048]
    assert saved["malformed_shapes"]["000032"] == [2, 6, 2048]
    assert problems["labelled_without_features"] == ["000031", "000032", "000033", "000034"] + [
        "000035",
        "004242",
    ]
    assert problems["features_without_labels"] == ["777777"]
    assert saved["counts"]["labelled_with_features"] == 7
    assert saved["splits"]["train"] == {"labelled": 7, "with_features": 3}
    assert saved["splits"]["valid"] == {"labelled": 3, "with_features": 2}
    assert saved["splits"]["test"] == {"labelled": 3, "with_features": 2}
    assert saved["genres"]["Action"] == {"labelled": 3, "with_features": 2}
    assert saved["genres"]["Comedy"] == {"labelled": 3, "with_features": 2}
    assert saved["four_genres_with_features"] == 5
    assert saved["frames"]["truncated_to_max_frames"] == 2  # 30 and 25 frames > 20
    assert "records no frame times" in saved["timestamps"]
    assert "problems" in report.summary().lower()


def test_shards_hold_the_pickles_features_aligned_by_id(imported: dict, lmtd: dict) -> None:
    shard_dir = imported["out"] / paths.VISUAL_FEATURES / paths.LMTD_VISUAL_NAME
    files = sorted(shard_dir.glob("shard-*.parquet"))
    assert [p.name for p in files] == [p.name for p in imported["report"].shards]
    seen = set()
    for path in files:
        vis = read_visual_shard(path)
        assert vis.metadata["source"] == "lmtd9_pickle"
        assert vis.metadata["backbone"] == "resnet152"
        assert vis.metadata["weights"] == "lmtd9_resnet152.pickle"
        assert vis.metadata["frames"] == {"source": "lmtd9 pickle"}
        assert vis.metadata["dim"] == 2048
        assert "frame times" in vis.metadata["timestamps"]
        for i, trailer_id in enumerate(vis.trailer_ids):
            assert path.name == f"shard-{shard_of(trailer_id, LMTD_N_SHARDS):04d}.parquet"
            expected = lmtd["features"][trailer_id][:LMTD_MAX_FRAMES].astype(np.float16)
            np.testing.assert_array_equal(vis.of(i), expected)
            stamps = vis.timestamps[vis.offsets[i] : vis.offsets[i + 1]]
            np.testing.assert_array_equal(stamps, np.arange(len(expected), dtype=np.float32))
            seen.add(trailer_id)
    assert seen == {f"{i:06d}" for i in LMTD_GOOD_FRAMES}


def test_reimport_with_fewer_shards_removes_stale_ones(lmtd: dict, tmp_path: Path) -> None:
    import_lmtd(lmtd["db"], lmtd["pickle"], None, 4, tmp_path, LMTD_MAX_FRAMES)
    report = import_lmtd(lmtd["db"], lmtd["pickle"], None, 1, tmp_path, LMTD_MAX_FRAMES)
    shard_dir = tmp_path / paths.VISUAL_FEATURES / paths.LMTD_VISUAL_NAME
    assert sorted(p.name for p in shard_dir.iterdir()) == ["shard-0000.parquet"]
    assert len(report.details["stale_shards_removed"]) >= 1
    assert read_visual_shard(shard_dir / "shard-0000.parquet").trailer_ids == sorted(
        f"{i:06d}" for i in LMTD_GOOD_FRAMES
    )


def test_videos_folder_is_checked_not_imported(lmtd: dict, tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("000002.mp4", "000005.mp4", "888888.mp4", "notes.txt"):
        (videos / name).write_bytes(b"")
    report = import_lmtd(lmtd["db"], None, videos, LMTD_N_SHARDS, out_root=tmp_path)
    assert report.n_videos == 2
    assert report.problems["videos_without_labels"] == ["888888"]
    assert len(report.problems["labelled_without_video"]) == len(LMTD_LABELS) - 2
    assert report.details["splits"]["train"]["with_video"] == 2
    assert not (tmp_path / paths.VISUAL_FEATURES).exists()
    with pytest.raises(LmtdImportError, match="does not exist"):
        import_lmtd(lmtd["db"], None, tmp_path / "absent", LMTD_N_SHARDS, out_root=tmp_path)


def test_bad_label_file_stops_the_import_first(lmtd: dict, tmp_path: Path) -> None:
    db = tmp_path / "database.db"
    db.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(LabelError, match="not an SQLite database"):
        import_lmtd(db, lmtd["pickle"], None, LMTD_N_SHARDS, out_root=tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- the imported data feed both genre settings ----------------------------------------------


@pytest.mark.parametrize(
    ("genres", "expected_ids", "dropped"),
    [
        (9, ["000002", "000005", "000017", "000123", "000250", "000999", "001000"], []),
        (4, ["000002", "000017", "000123", "000250", "001000"], ["000005", "000999"]),
    ],
)
def test_build_dataset_on_imported_shards(
    lmtd: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    genres: int,
    expected_ids: list[str],
    dropped: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_params(REPO / "params.yaml")
    config["data"].update(lmtd_params(lmtd["db"], lmtd["pickle"], None))
    # another count than the import's: the data set reads the shards the import wrote
    config["extraction"]["shards"] = LMTD_N_SHARDS + 3
    config["dataset"]["genres"] = genres
    import_lmtd(lmtd["db"], lmtd["pickle"], None, LMTD_N_SHARDS, Path("."), LMTD_MAX_FRAMES)
    report = build_dataset(config, Path("dataset"))
    assert report["n_trailers"] == len(expected_ids)
    assert report["problems"]["dropped_no_genre_of_the_four"] == dropped
    assert report["visual_metadata"]["source"] == "lmtd9_pickle"
    data = load_dataset(Path("dataset"))
    assert data.index["trailer_id"].tolist() == expected_ids
    assert data.visual.shape == (len(expected_ids), LMTD_MAX_FRAMES, 2048)
    row = expected_ids.index("000123")
    np.testing.assert_array_equal(
        data.visual[row], lmtd["features"]["000123"][:LMTD_MAX_FRAMES].astype(np.float16)
    )
    row = expected_ids.index("000250")  # 8 frames, zero-padded at the end
    np.testing.assert_array_equal(data.visual[row, 8:], 0)
    if genres == 4:
        assert data.genres == ("Action", "Drama", "Horror", "Romance")
        np.testing.assert_array_equal(data.labels[expected_ids.index("000123")], [0, 0, 0, 1])


# ---- params.yaml -----------------------------------------------------------------------------


def test_update_params_keeps_comments_and_other_sections(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", params)
    before = params.read_text()
    section = lmtd_params(
        Path("data/lmtd9/database.db"), Path("data/lmtd9/lmtd9_resnet152.pickle"), None
    )
    update_params_file(params, section)
    after = params.read_text()
    assert load_params(params)["data"] == section
    assert section["videos_dir"] == "data/lmtd9/no_videos"
    assert section["lmtd"]["videos_dir"] is None
    comments = [line[line.index("#") :] for line in before.splitlines() if "#" in line]
    for comment in comments:
        assert comment in after, comment
    assert after[after.index("\nsynth:") :] == before[before.index("\nsynth:") :]
    # null as DVC writes it (empty), so a later `dvc exp run -S` changes one line only
    assert re.search(r"^    videos_dir: *(#.*)?$", after, re.M)
    assert ": null" not in after


def test_update_params_refuses_an_invalid_section(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", params)
    before = params.read_text()
    section = dict(lmtd_params(Path("db.db"), None, Path("videos")), source="lmtd10")
    with pytest.raises(ConfigError, match="data.source"):
        update_params_file(params, section)
    assert params.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["params.yaml"]
