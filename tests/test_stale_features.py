"""A data set joins only the current extraction's features, never leftovers of another source.

The case that happened: the demo's `make run` left audio shards of synthetic trailers
000001-000240 in results/features/audio/; after `moviegenre import-lmtd` (LMTD-9's labels
and visual features, no trailers) and `dvc repro`, LMTD trailer 000135 got synthetic
000135's sound. Features count only when the current extraction report says they were
made now (moviegenre.dataset.current_extraction), and a shard made with other settings
than params.yaml's stops the build.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import REPO, copy_repo, run, set_params
from lmtd_fixtures import write_lmtd_style_pickle

from moviegenre import paths
from moviegenre.config import load_params
from moviegenre.data.label_writer import write_lmtd_db
from moviegenre.data.lmtd import import_lmtd, lmtd_params
from moviegenre.dataset import DatasetError, build_dataset
from moviegenre.dataset_files import load_dataset
from moviegenre.features.report import write_report
from moviegenre.features.shard_metadata import audio_metadata, visual_metadata
from moviegenre.features.shards import (
    audio_table,
    group_by_shard,
    shard_name,
    shard_of,
    visual_table,
    write_table_atomic,
)
from moviegenre.features.status import TrailerStatus
from moviegenre.genres import GENRES_9

N_SHARDS = 2
LMTD_IDS = [2, 135, 136, 137, 200, 201]
DEMO_IDS = [f"{i:06d}" for i in range(130, 140)]  # the demo's trailers, 000135 among them
SHARD_OF_000135 = shard_name(shard_of("000135", N_SHARDS))


def _lmtd_files(root: Path, ids: list[int] = LMTD_IDS) -> tuple[Path, Path]:
    labels = np.zeros((len(ids), len(GENRES_9)), dtype=np.int64)
    labels[:, 0] = 1  # Action: one of the four
    db = root / "database.db"
    write_lmtd_db(db, ids, [k % 3 for k in range(len(ids))], labels)
    rng = np.random.default_rng(0)
    features = {f"{i:06d}": rng.standard_normal((6, 2048)).astype(np.float32) for i in ids}
    pickle = root / "lmtd9_resnet152.pickle"
    write_lmtd_style_pickle(pickle, features)
    return db, pickle


def _demo_leftovers(config: dict) -> None:
    """What the demo's extraction left: audio and visual shards and their report."""
    for shard, ids in group_by_shard(DEMO_IDS, N_SHARDS).items():
        vectors = np.full((len(ids), 140), 7.0, dtype=np.float32)
        write_table_atomic(
            audio_table(ids, vectors, [False] * len(ids)),
            paths.audio_shard(shard),
            audio_metadata(config["audio"], 140),
        )
        write_table_atomic(
            visual_table(
                ids, [np.arange(3, dtype=np.float32)] * len(ids), [np.ones((3, 4))] * len(ids), 4
            ),
            paths.shard_file(paths.VISUAL_FEATURES / config["backbone"]["name"], shard),
            visual_metadata(config["backbone"], config["frames"], 4),
        )


def _config(db: Path, pickle: Path | None) -> dict:
    config = load_params(REPO / "params.yaml")
    config["data"].update(lmtd_params(db, pickle, None))
    config["extraction"]["shards"] = N_SHARDS
    config["dataset"]["genres"] = 9
    return config


def test_lmtd_after_the_demo_joins_none_of_the_demos_sound(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    db, pickle = _lmtd_files(tmp_path)
    config = _config(db, pickle)
    _demo_leftovers(config)
    import_lmtd(db, pickle, None, N_SHARDS, Path("."), 240)
    # The extraction that followed found no trailer: an empty report.
    write_report([], {}, paths.EXTRACTION_REPORT, paths.EXTRACTION_SUMMARY)

    report = build_dataset(config, Path("results/dataset"))

    data = load_dataset(Path("results/dataset"))
    assert data.index["trailer_id"].tolist() == [f"{i:06d}" for i in LMTD_IDS]
    assert report["with_audio"] == 0 and not data.index["has_audio"].any()
    assert not data.audio.any()
    assert report["problems"]["stale_features_ignored"] == ["000135", "000136", "000137"]


def test_rows_the_current_extraction_did_not_make_are_not_joined(tmp_path, monkeypatch) -> None:
    """LMTD-9 with some trailers: the current extraction made 000135's sound only; the
    leftover shard holding it also holds 000136's (whose file is gone), which stays out."""
    monkeypatch.chdir(tmp_path)
    db, pickle = _lmtd_files(tmp_path, ids=[135, 136])
    config = _config(db, pickle)
    _demo_leftovers(config)
    import_lmtd(db, pickle, None, N_SHARDS, Path("."), 240)
    now = [TrailerStatus("000135", "000135.mp4", "audio", "ok", shard=SHARD_OF_000135)]
    write_report(now, {"000135": "000135.mp4"}, paths.EXTRACTION_REPORT, paths.EXTRACTION_SUMMARY)

    report = build_dataset(config, Path("results/dataset"))

    data = load_dataset(Path("results/dataset"))
    assert data.index["trailer_id"].tolist() == ["000135", "000136"]
    assert data.index["has_audio"].tolist() == [True, False]
    assert report["with_audio"] == 1 and not data.audio[1].any()
    assert report["problems"]["stale_features_ignored"] == ["000136"]


@pytest.mark.parametrize("kind", ["audio", "visual"])
def test_a_shard_made_with_other_settings_stops_the_build(tmp_path, monkeypatch, kind) -> None:
    monkeypatch.chdir(tmp_path)
    db, _ = _lmtd_files(tmp_path, ids=[135])
    config = _config(db, None)
    config["data"]["source"] = "synthetic"
    _demo_leftovers(config)
    now = [
        TrailerStatus("000135", "000135.mp4", s, "ok", shard=SHARD_OF_000135)
        for s in ("visual", "audio")
    ]
    write_report(now, {"000135": "000135.mp4"}, paths.EXTRACTION_REPORT, paths.EXTRACTION_SUMMARY)
    if kind == "audio":
        config["audio"]["resampler"] = "kaiser_best"
    else:
        config["frames"]["count"] = 50
    with pytest.raises(DatasetError, match=r"shard-\d{4}\.parquet was extracted with .* stale"):
        build_dataset(config, Path("results/dataset"))


@pytest.mark.slow
def test_demo_then_import_lmtd_then_dvc_repro(tmp_path: Path) -> None:
    """The researcher's path, with the real commands: the demo's pipeline up to its
    features, `moviegenre import-lmtd` (labels and visual features, no trailers), then
    `dvc repro dataset`: no LMTD trailer gets a synthetic trailer's sound."""
    repo = copy_repo(tmp_path / "repo", {"synth": {"count": 8}, "extraction": {"shards": 2}})
    run(["dvc", "repro", "features"], repo, timeout=1200)
    demo = {p.stem for p in (repo / paths.SYNTHETIC_TRAILERS).glob("*.mp4")}
    overlap = sorted(demo)[:3]
    ids = [int(t) for t in overlap] + [900, 901, 902]
    db, pickle = _lmtd_files(tmp_path, ids=ids)
    run(["moviegenre", "import-lmtd", "--db", str(db), "--features", str(pickle)], repo)
    assert yaml.safe_load((repo / "params.yaml").read_text())["data"]["source"] == "lmtd9"
    set_params(repo, {"dataset": {"genres": 9}})
    run(["dvc", "repro", "dataset"], repo, timeout=1200)

    report = json.loads((repo / paths.DATASET / paths.DATASET_REPORT).read_text())
    assert report["n_trailers"] == len(ids)
    assert report["with_audio"] == 0
    assert report["problems"]["stale_features_ignored"] == overlap
    assert list((repo / paths.AUDIO_FEATURES).glob("shard-*.parquet"))  # the leftovers
