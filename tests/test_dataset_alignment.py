"""The built data set's rows against their inputs: labels, splits, visual and audio, row by row.

Every trailer's features encode its own id (visual frame f of trailer i holds i + f/8, its
audio vector i + k/1000), and the shards list trailers in different orders for visual and
audio, so a row taking another trailer's split, labels or features is seen at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from helpers import REPO

from moviegenre import paths
from moviegenre.data.label_writer import write_lmtd_db
from moviegenre.data.labels import read_labels
from moviegenre.dataset import build_dataset
from moviegenre.dataset_files import load_dataset
from moviegenre.features.report import write_report
from moviegenre.features.shard_metadata import audio_metadata, visual_metadata
from moviegenre.features.shards import audio_table, group_by_shard, visual_table, write_table_atomic
from moviegenre.features.status import TrailerStatus
from moviegenre.genres import GENRES_9

N_SHARDS = 3
DIM = 5
IDS = list(range(1, 19))


def _frames(i: int) -> np.ndarray:
    n = 2 + i % 3  # 2..4 frames, so padding is exercised too
    return (i + np.arange(n)[:, None] / 8 + np.zeros((n, DIM))).astype(np.float16)


def _audio(i: int) -> np.ndarray:
    return (i + np.arange(140) / 1000).astype(np.float32)


def _write_shards(config: dict, shard: str, ids: list[str], sign: int = 1) -> None:
    """One visual and one audio shard of `ids` (features times `sign`: -1 marks a leftover)."""
    visual_dir = Path("results/features/visual") / config["backbone"]["name"]
    order = list(reversed(ids))  # visual rows in reverse id order
    write_table_atomic(
        visual_table(
            order,
            [np.arange(len(_frames(int(t))), dtype=np.float32) for t in order],
            [sign * _frames(int(t)) for t in order],
            DIM,
        ),
        visual_dir / f"shard-{shard}.parquet",
        visual_metadata(config["backbone"], config["frames"], DIM),
    )
    order = ids[1::2] + ids[::2]  # audio rows in yet another order
    write_table_atomic(
        audio_table(order, np.stack([sign * _audio(int(t)) for t in order]), [False] * len(order)),
        Path(f"results/features/audio/shard-{shard}.parquet"),
        audio_metadata(config["audio"], 140),
    )


def _write_inputs(root: Path) -> dict:
    rng = np.random.default_rng(3)
    labels = (rng.random((len(IDS), 9)) < 0.4).astype(np.uint8)
    labels[np.arange(len(IDS)), rng.integers(0, 9, len(IDS))] = 1
    sets = [i % 3 for i in IDS]  # train, valid and test interleaved
    write_lmtd_db(root / "database.db", IDS, sets, labels)
    config = yaml.safe_load((REPO / "params.yaml").read_text())
    config["data"].update(source="synthetic", labels_db=str(root / "database.db"))
    config["extraction"]["shards"] = N_SHARDS
    config["dataset"].update(genres=9, max_frames=4)
    keys = [f"{i:06d}" for i in IDS]
    for shard, ids in group_by_shard(keys, N_SHARDS).items():
        _write_shards(config, shard, ids)
    ok = [
        TrailerStatus(t, f"{t}.mp4", stage, "ok", shard=shard)
        for shard, ids in group_by_shard(keys, N_SHARDS).items()
        for t in ids
        for stage in ("visual", "audio")
    ]
    write_report(
        ok, {t: f"{t}.mp4" for t in keys}, paths.EXTRACTION_REPORT, paths.EXTRACTION_SUMMARY
    )
    return config


def _check_rows(root: Path) -> None:
    """Every row of the built data set against its own labels, split and features."""
    data = load_dataset(Path("results/dataset"))
    truth = read_labels(root / "database.db").set_index("trailer_id")

    assert sorted(data.index["trailer_id"]) == [f"{i:06d}" for i in IDS]
    assert data.genres == tuple(GENRES_9)
    assert data.visual.shape == (len(IDS), 4, DIM)
    for row, trailer_id in enumerate(data.index["trailer_id"]):
        i = int(trailer_id)
        assert data.index.at[row, "split"] == truth.at[trailer_id, "split"], trailer_id
        assert data.index.at[row, "split"] == ("train", "valid", "test")[i % 3], trailer_id
        np.testing.assert_array_equal(
            data.labels[row], truth.loc[trailer_id, list(GENRES_9)].to_numpy(dtype=np.float32)
        )
        frames = _frames(i)
        assert data.index.at[row, "n_frames"] == len(frames)
        np.testing.assert_array_equal(data.visual[row, : len(frames)], frames, err_msg=trailer_id)
        assert not data.visual[row, len(frames) :].any()  # padding stays zero
        np.testing.assert_array_equal(data.audio[row], _audio(i), err_msg=trailer_id)
        assert bool(data.index.at[row, "has_audio"])
    assert set(data.index["split"]) == {"train", "valid", "test"}


def test_dataset_rows_match_labels_splits_visual_and_audio(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = _write_inputs(tmp_path)
    build_dataset(config, Path("results/dataset"))
    _check_rows(tmp_path)


def test_the_data_set_reads_the_shards_extraction_wrote_not_a_recomputed_name(
    tmp_path, monkeypatch
) -> None:
    """Extraction wrote 3 shards; shard-0003 and shard-0004 are left from an earlier count
    of 5 (every trailer, other values), and params.yaml now says 5 with no extraction
    since: the data set still takes each trailer from the shard the report names."""
    monkeypatch.chdir(tmp_path)
    config = _write_inputs(tmp_path)
    keys = [f"{i:06d}" for i in IDS]
    _write_shards(config, "0003", keys, sign=-1)
    _write_shards(config, "0004", keys, sign=-1)
    config["extraction"]["shards"] = 5
    report = build_dataset(config, Path("results/dataset"))
    _check_rows(tmp_path)
    assert report["problems"]["stale_features_ignored"] == []  # each is current elsewhere


def test_shards_are_read_in_another_order_than_written() -> None:
    """The crafted shards hold several trailers each, so within-shard order matters."""
    groups = group_by_shard([f"{i:06d}" for i in IDS], N_SHARDS)
    assert len(groups) == N_SHARDS and min(len(v) for v in groups.values()) >= 3
