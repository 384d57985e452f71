"""One test per rule that had none (issue 24): each fails when its rule alone is switched off.

The rules: the config's cross-key checks, the no-audio policy (mixed case included), atomic
writes failing half-way, the shard self-checks, threshold shapes, trailer screening and
label-file problems. Each rule but the label ones is also named by a patch rule_* in
tests/guards/ or tests/guards/slow/, which test_guards.py applies to a copy of the sources
to see these tests fail (labels.py is being reshaped; its patches would not apply for long).
"""

from __future__ import annotations

import copy
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import REPO, write_dataset

from moviegenre.atomic import _host, remove_stale_temporaries, write_atomic
from moviegenre.config import ConfigError, load_params, validate_config
from moviegenre.data.trailers import DuplicateTrailerError, screen_trailers
from moviegenre.evaluation.thresholds import apply_thresholds, youden_thresholds
from moviegenre.features.shards import (
    CorruptShardError,
    audio_table,
    read_audio_shard,
    read_visual_shard,
    visual_table,
    write_table_atomic,
)
from moviegenre.fusion.policy import (
    NO_AUDIO_NOTE,
    train_prevalence,
    trained_with_audio,
    unfitted_note,
    with_fallback,
)
from moviegenre.genres import GENRES_9

# ---- config: rules relating two keys -----------------------------------------------------


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params(REPO / "params.yaml")


def changed(params: dict, **values) -> dict:
    """A copy of params with `section__key=value` changes."""
    config = copy.deepcopy(params)
    for dotted, value in values.items():
        section, key = dotted.split("__")
        config[section][key] = value
    return config


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"stacking__folds": 3, "stacking__fold_ids": [0, 1]},
            "stacking.fold_ids: [0, 1] must be [0, 1, 2] (0..folds-1",
        ),
        (
            {"stacking__folds": 2, "stacking__fold_ids": [0, 1, 2]},
            "stacking.fold_ids: [0, 1, 2] must be [0, 1]",
        ),
        ({"stacking__folds": 3, "stacking__fold_ids": [2, 0, 1]}, "must be [0, 1, 2]"),
        (
            {"frames__start_s": 5.0, "frames__end_s": 5.0},
            "frames.end_s: 5.0 must be greater than frames.start_s (5.0)",
        ),
    ],
    ids=["fewer_fold_ids", "more_fold_ids", "fold_ids_out_of_order", "empty_frame_window"],
)
def test_cross_key_rule_refuses(params: dict, values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        validate_config(changed(params, **values))
    assert message in str(error.value)


def test_cross_key_rules_accept_their_bounds(params: dict) -> None:
    validate_config(changed(params, stacking__folds=2, stacking__fold_ids=[0, 1]))
    validate_config(changed(params, frames__start_s=5.0, frames__end_s=5.001))


def test_cross_key_rules_wait_for_a_valid_schema(params: dict) -> None:
    """A missing key is reported as such, not as a KeyError of a cross-key rule."""
    config = copy.deepcopy(params)
    del config["frames"]["end_s"]
    del config["stacking"]["folds"]
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    assert "frames: 'end_s' is a required property" in str(error.value)
    assert "stacking: 'folds' is a required property" in str(error.value)


def test_a_number_key_refuses_a_bool(params: dict) -> None:
    """YAML's `true` is an int to Python; `start_s: true` must not pass as 1 second."""
    with pytest.raises(ConfigError, match=r"frames.start_s: True is not of type 'number'"):
        validate_config(changed(params, frames__start_s=True))


# ---- the no-audio policy ------------------------------------------------------------------

GENRES = ("Action", "Drama", "Horror")


def test_unfitted_svms_send_every_trailer_to_the_fallback_flagged() -> None:
    """Scores None (too few trailers with audio to fit): trailers WITH sound get the fallback
    too, so each of them must be flagged audio_missing as well."""
    has_audio = np.array([True, False, True])
    visual = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], np.float32)
    out, missing = with_fallback("fusion", None, has_audio, visual=visual)
    np.testing.assert_array_equal(out, visual)
    assert missing.tolist() == [True, True, True]
    prevalence = np.array([0.5, 0.25, 0.0], np.float32)
    out, missing = with_fallback("audio", None, has_audio, prevalence=prevalence)
    np.testing.assert_array_equal(out, np.tile(prevalence, (3, 1)))
    assert missing.tolist() == [True, True, True]


def test_too_few_trailers_with_sound_flags_every_trailer(tmp_path: Path, monkeypatch) -> None:
    """The stages' mixed case: 3 train trailers and every test trailer have sound (fewer than
    4 to fit from): nothing is fitted, each trailer gets the fallback and the flag."""
    from moviegenre import paths
    from moviegenre.dataset_files import load_dataset
    from moviegenre.fusion.fit import fit_and_write
    from moviegenre.fusion.svm import load_svms
    from moviegenre.predictions import read_predictions

    monkeypatch.chdir(tmp_path)
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]])
    splits = np.array(["train", "train", "train", "valid", "test", "test"])
    audio = np.arange(6 * 140, dtype=np.float32).reshape(6, 140)
    write_dataset(tmp_path, labels, splits, GENRES, audio, np.zeros((6, 2, 3), np.float16))
    index_path = tmp_path / paths.DATASET / paths.DATASET_INDEX
    index = pd.read_parquet(index_path)
    index["has_audio"] = [True, True, True, False, True, True]  # the valid one is mute
    index.to_parquet(index_path, index=False)
    config = load_params(REPO / "params.yaml")
    data = load_dataset()
    assert int(data.index["has_audio"].sum()) == 5
    visual = np.linspace(0.05, 0.95, 18, dtype=np.float32).reshape(6, 3)
    fit_and_write(config, data, "fusion_cnn1d", visual)
    fit_and_write(config, data, "audio")

    rows, fused = read_predictions(paths.predictions_path("fusion_cnn1d"), GENRES)
    assert rows["audio_missing"].tolist() == [True] * 6
    np.testing.assert_array_equal(fused, visual)
    rows, audio_only = read_predictions(paths.predictions_path("audio"), GENRES)
    assert rows["audio_missing"].tolist() == [True] * 6
    np.testing.assert_allclose(audio_only, np.tile(labels[:3].mean(axis=0), (6, 1)), rtol=1e-6)
    saved = load_svms(paths.svm_path("audio"))
    assert saved.notes_ == [f"{NO_AUDIO_NOTE} (3 in the train+valid split)"]
    assert saved.fitted_ is False and not trained_with_audio(saved)  # the flag is saved


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: with_fallback("visual", None, [True], prevalence=np.zeros(3)),
            "no audio fallback",
        ),
        (lambda: with_fallback("fusion", None, [True]), "pass visual"),
        (lambda: with_fallback("audio", None, [True]), "pass prevalence"),
        (lambda: train_prevalence(np.ones(3), ["train"] * 3), "labels must be [N, G]"),
        (lambda: train_prevalence(np.ones((3, 2)), ["train"] * 2), "labels must be [N, G]"),
        (lambda: train_prevalence(np.ones((2, 2)), ["valid", "test"]), "no trailer in the train"),
    ],
    ids=[
        "unknown_kind",
        "fusion_without_visual",
        "audio_without_prevalence",
        "prevalence_of_1d_labels",
        "prevalence_of_unaligned_splits",
        "prevalence_without_train",
    ],
)
def test_policy_refuses_what_it_cannot_fall_back_on(call, message: str) -> None:
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("svms", "expected"),
    [
        (types.SimpleNamespace(estimators_=[0], notes_=[]), True),
        (types.SimpleNamespace(estimators_=[0], notes_=["Horror: one class only"]), True),
        (types.SimpleNamespace(estimators_=[0], notes_=[unfitted_note(2, "train")]), False),
        (types.SimpleNamespace(notes_=[]), False),
        (types.SimpleNamespace(estimators_=[0], fitted_=True, notes_=[]), True),
        (types.SimpleNamespace(estimators_=[0], fitted_=False, notes_=[]), False),
    ],
    ids=[
        "fitted",
        "fitted_with_a_note",
        "marked_unfitted",
        "never_fitted",
        "flagged_fitted",
        "flagged_unfitted",
    ],
)
def test_trained_with_audio_reads_fit_and_note(svms, expected: bool) -> None:
    assert trained_with_audio(svms) is expected


# ---- atomic writes ------------------------------------------------------------------------


@pytest.mark.parametrize("old", ["old contents", None], ids=["over_a_file", "new_file"])
@pytest.mark.parametrize(
    "failure", [OSError("disk full"), KeyboardInterrupt()], ids=["disk_full", "interrupted"]
)
def test_a_write_failing_half_way_leaves_the_old_file(
    tmp_path: Path, old: str | None, failure: BaseException
) -> None:
    target = tmp_path / "metrics.json"
    if old is not None:
        target.write_text(old)

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text('{"half": ')
        raise failure

    with pytest.raises(type(failure)):
        write_atomic(target, half_then_fail)
    assert [p.name for p in tmp_path.iterdir()] == ([] if old is None else ["metrics.json"])
    if old is not None:
        assert target.read_text() == old


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_leftovers_are_found_whatever_the_target_name(tmp_path: Path) -> None:
    """Glob characters in a target's name are literal: its dead writer's file goes."""
    target = tmp_path / "scores[1].csv"
    leftover = tmp_path / f".{target.name}.tmp-{_host()}-{_dead_pid()}-0123abcd"
    leftover.write_bytes(b"partial")
    remove_stale_temporaries(target)
    assert not leftover.exists()


def test_a_leftover_whose_pid_cannot_be_checked_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    leftover = tmp_path / f".{target.name}.tmp-{_host()}-{10**30}-0123abcd"
    leftover.write_bytes(b"partial")
    remove_stale_temporaries(target)
    assert leftover.exists()


# ---- shard self-checks --------------------------------------------------------------------


def _visual_shard(path: Path) -> None:
    feats = [np.full((c, 4), i, np.float16) for i, c in enumerate((3, 5))]
    stamps = [np.arange(len(f), dtype=np.float32) for f in feats]
    write_table_atomic(visual_table(["000001", "000002"], stamps, feats, 4), path, {"dim": 4})


def _audio_shard(path: Path) -> None:
    vectors = np.ones((3, 140), np.float32)
    table = audio_table(["000001", "000002", "000003"], vectors, [False] * 3)
    write_table_atomic(table, path, {"dim": 140})


@pytest.mark.parametrize(
    ("write", "read", "rows"),
    [(_visual_shard, read_visual_shard, 8), (_audio_shard, read_audio_shard, 3)],
    ids=["visual", "audio"],
)
@pytest.mark.parametrize("change", [-1, +1], ids=["lost_a_row", "gained_a_row"])
def test_a_shard_whose_rows_disagree_with_its_metadata_is_refused(
    tmp_path: Path, write, read, rows: int, change: int
) -> None:
    """Rewritten by another tool, metadata kept: readable, but not what was extracted."""
    path = tmp_path / "shard-0000.parquet"
    write(path)
    table = pq.read_table(path)
    table = table.slice(0, rows - 1) if change < 0 else pa.concat_tables([table, table.slice(0, 1)])
    pq.write_table(table, path)  # keeps the schema's metadata, n_rows included
    with pytest.raises(CorruptShardError) as error:
        read(path)
    assert f"has {rows + change} rows but its metadata says {rows}" in str(error.value)
    assert str(path) in str(error.value)


def test_a_shard_with_corrupt_data_pages_is_a_corrupt_shard(tmp_path: Path) -> None:
    """The footer reads (metadata is fine) but the column data does not."""
    path = tmp_path / "shard-0000.parquet"
    _audio_shard(path)
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    data[4 : len(data) - footer] = b"\xff" * (len(data) - footer - 4)
    path.write_bytes(bytes(data))
    pq.read_schema(path)  # still readable: the check below is the data's
    with pytest.raises(CorruptShardError, match=rf"{path.name}: cannot be read"):
        read_audio_shard(path)


@pytest.mark.parametrize(
    ("features", "stamps"),
    [
        (np.zeros((3, 4, 1)), np.zeros(3)),
        (np.zeros((3, 5)), np.zeros(3)),
        (np.zeros((3, 4)), np.zeros(2)),
    ],
    ids=["3d_features", "wrong_width", "timestamps_of_another_length"],
)
def test_visual_rows_must_fit_their_width(features: np.ndarray, stamps: np.ndarray) -> None:
    with pytest.raises(ValueError, match="000001: features .* do not fit"):
        visual_table(["000001"], [stamps], [features.astype(np.float16)], 4)


# ---- threshold shapes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: youden_thresholds(np.eye(4, 2), np.ones((4, 3))), "of the same shape [N, G]"),
        (lambda: youden_thresholds(np.array([0, 1, 0, 1]), np.ones(4)), "of the same shape"),
        (lambda: apply_thresholds(np.ones(4), np.ones(4)), "expected scores [N, G]"),
        (lambda: apply_thresholds(np.ones((4, 3)), np.float64(0.5)), "thresholds [G]"),
        (lambda: apply_thresholds(np.ones((4, 3)), np.ones(4)), "thresholds [G]"),
    ],
    ids=["genres_differ", "one_dimensional", "scores_1d", "one_threshold", "thresholds_too_many"],
)
def test_threshold_shapes_are_checked(call, message: str) -> None:
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


# ---- trailer screening --------------------------------------------------------------------


def test_screening_skips_hidden_and_foreign_files_and_ignores_case(tmp_path: Path) -> None:
    for name in (".000003.mp4", "notes.txt", "000004.MP4", "000005.mp4", "000006.Mkv"):
        (tmp_path / name).write_bytes(b"x")
    found, rejected = screen_trailers(tmp_path)
    assert sorted(found) == ["000004", "000005", "000006"] and rejected == []


def test_two_files_of_one_trailer_are_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "000002.mp4").write_bytes(b"x")
    (tmp_path / "000002.mkv").write_bytes(b"x")
    with pytest.raises(
        DuplicateTrailerError, match=r"'000002' has two files: 000002.mkv and 000002.mp4"
    ):
        screen_trailers(tmp_path)


def test_a_missing_folder_has_no_trailers(tmp_path: Path) -> None:
    assert screen_trailers(tmp_path / "absent") == ({}, [])


def test_a_link_loop_is_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").symlink_to("b.mp4")
    (tmp_path / "b.mp4").symlink_to("a.mp4")
    found, rejected = screen_trailers(tmp_path)
    assert found == {} and [(r.name, r.reason) for r in rejected] == [
        ("a.mp4", "broken_link"),
        ("b.mp4", "broken_link"),
    ]


# ---- label-file problems ------------------------------------------------------------------


def _label_db(path: Path, columns: list[str], row: tuple) -> Path:
    import sqlite3
    from contextlib import closing

    quoted = ", ".join(f'"{c}"' for c in columns)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"CREATE TABLE lmtd9_0 ({quoted})")
        conn.execute(f"INSERT INTO lmtd9_0 VALUES ({', '.join('?' * len(columns))})", row)
        conn.commit()
    return path


GENRE_COLUMNS = [f"is{g}" for g in GENRES_9]


@pytest.mark.parametrize(
    ("columns", "row", "message"),
    [
        (["id", "set", *GENRE_COLUMNS], (-3, 0, *[0] * 9), "has id=-3; expected an integer"),
        (["id", "set", *GENRE_COLUMNS], ("abc", 0, *[0] * 9), "has id='abc'; expected an integer"),
        (["id", "set", *GENRE_COLUMNS], (2.5, 0, *[0] * 9), "has id=2.5; expected an integer"),
        (["id", *GENRE_COLUMNS], (2, *[0] * 9), "has no column 'set'"),
        (["set", *GENRE_COLUMNS], (0, *[0] * 9), "has no column 'id'"),
        (["id", "set", *GENRE_COLUMNS], (2, 0, "1", *[0] * 8), "isAction='1' is not 0/1"),
        (["id", "set", *GENRE_COLUMNS], (2, 0, 0.5, *[0] * 8), "isAction=0.5 is not 0/1"),
    ],
    ids=[
        "negative_id",
        "text_id",
        "fractional_id",
        "no_set_column",
        "no_id_column",
        "genre_as_text",
        "genre_fraction",
    ],
)
def test_label_file_problem_is_named(tmp_path: Path, columns, row, message: str) -> None:
    from moviegenre.data.labels import LabelError, read_labels

    path = _label_db(tmp_path / "database.db", columns, row)
    with pytest.raises(LabelError) as error:
        read_labels(path)
    assert message in str(error.value)
