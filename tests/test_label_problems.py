"""Label problems a real LMTD-9 copy can have, each reported by row, id or column.

Broken label files stop the run at once with a LabelError naming the culprit; mismatches
between labels and trailer files are reported in results/dataset/report.json and are only
fatal when nothing is left to train on (DatasetError).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import REPO, copy_repo, deep_update, run, set_params

from moviegenre.data.label_writer import write_lmtd_db
from moviegenre.data.labels import LABEL_TABLE, LabelError, read_labels
from moviegenre.dataset import DatasetError, build_dataset
from moviegenre.dataset_files import load_dataset
from moviegenre.features.report import write_report
from moviegenre.features.shard_metadata import audio_metadata, visual_metadata
from moviegenre.features.shards import (
    audio_table,
    group_by_shard,
    visual_table,
    write_table_atomic,
)
from moviegenre.features.status import TrailerStatus

N_SHARDS = 2
DIM = 4
FRAMES = 3
# id -> (split, genre row); 1..8 are labelled
LABELLED = {
    1: (0, [1, 0, 0, 0, 1, 0, 0, 0, 0]),
    2: (0, [0, 0, 1, 0, 0, 0, 1, 0, 0]),
    3: (1, [0, 0, 0, 0, 1, 0, 0, 0, 0]),
    4: (2, [0, 0, 0, 0, 0, 1, 0, 0, 1]),
    5: (0, [0, 1, 0, 0, 0, 0, 0, 1, 0]),
    6: (2, [0, 0, 0, 1, 1, 0, 0, 0, 0]),
    7: (1, [0, 0, 1, 0, 0, 0, 0, 0, 0]),
    8: (0, [1, 0, 0, 0, 0, 0, 0, 0, 0]),
}


def write_labels(path: Path, ids: list[int] | None = None) -> Path:
    ids = sorted(LABELLED) if ids is None else ids
    labels = np.array([LABELLED[i][1] for i in ids], dtype=np.uint8)
    write_lmtd_db(path, ids, [LABELLED[i][0] for i in ids], labels)
    return path


def execute(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as conn:
        for sql in statements:
            conn.execute(sql)
        conn.commit()


def config_for(labels_db: Path, genres: int = 9) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    return deep_update(
        params,
        {
            "data": {"source": "synthetic", "labels_db": str(labels_db)},
            "extraction": {"shards": N_SHARDS},
            "dataset": {"genres": genres, "max_frames": 8},
        },
    )


def write_extraction(config: dict, files: dict[str, str], with_features: list[str]) -> None:
    """What `snakemake` leaves in results/ (cwd): shards for `with_features`, the report.

    ``files`` maps trailer id -> file name (every trailer file found); the ones not in
    ``with_features`` are reported as failed extractions.
    """
    visual_dir = Path("results/features/visual") / config["backbone"]["name"]
    shards = group_by_shard(list(files), N_SHARDS)
    rng = np.random.default_rng(0)
    statuses = []
    for shard, ids in shards.items():
        good = [t for t in ids if t in with_features]
        feats = [rng.standard_normal((FRAMES, DIM)).astype(np.float16) for _ in good]
        stamps = [np.arange(FRAMES, dtype=np.float32) + 5 for _ in good]
        write_table_atomic(
            visual_table(good, stamps, feats, DIM),
            visual_dir / f"shard-{shard}.parquet",
            visual_metadata(config["backbone"], config["frames"], DIM),
        )
        vectors = rng.standard_normal((len(good), 140)).astype(np.float32)
        write_table_atomic(
            audio_table(good, vectors, [False] * len(good)),
            Path(f"results/features/audio/shard-{shard}.parquet"),
            audio_metadata(config["audio"], 140),
        )
        for t in ids:
            for stage in ("visual", "audio"):
                if t in good:
                    statuses.append(
                        TrailerStatus(t, files[t], stage, "ok", "", "", 8.0, FRAMES, shard=shard)
                    )
                else:
                    statuses.append(
                        TrailerStatus.from_error(t, Path(files[t]), stage, "unreadable", "x")
                    )
    write_report(
        statuses,
        files,
        Path("results/extraction_report.csv"),
        Path("results/extraction_summary.json"),
    )


# ---- the label file itself: LabelError naming the row, id or column ------------------------


def test_duplicate_ids_name_the_id_and_its_rows(tmp_path: Path) -> None:
    db = write_labels(tmp_path / "database.db")
    execute(db, f"INSERT INTO {LABEL_TABLE} SELECT * FROM {LABEL_TABLE} WHERE id = 3")
    with pytest.raises(LabelError, match=r"duplicate trailer ids in lmtd9_0: 000003 \(rows 3, 9\)"):
        read_labels(db)


def test_unknown_genre_column_is_named_with_the_vocabulary(tmp_path: Path) -> None:
    db = write_labels(tmp_path / "database.db")
    execute(db, f'ALTER TABLE {LABEL_TABLE} ADD COLUMN "isWestern" INTEGER DEFAULT 0')
    with pytest.raises(LabelError) as err:
        read_labels(db)
    assert "isWestern" in str(err.value) and "known: isAction" in str(err.value)


def test_missing_genre_columns_are_named(tmp_path: Path) -> None:
    db = write_labels(tmp_path / "database.db")
    execute(
        db,
        f'ALTER TABLE {LABEL_TABLE} DROP COLUMN "isHorror"',
        f'ALTER TABLE {LABEL_TABLE} DROP COLUMN "isSciFi"',
    )
    with pytest.raises(LabelError, match=r"lacks genre columns: isHorror, isSciFi$"):
        read_labels(db)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NULL", r"database\.db: id 000004 is in no split \(set=NULL\)$"),
        ("7", r": id 000004 has set=7; "),
    ],
)
def test_id_in_no_split_is_named(tmp_path: Path, value: str, message: str) -> None:
    db = write_labels(tmp_path / "database.db")
    execute(db, f'UPDATE {LABEL_TABLE} SET "set" = {value} WHERE id = 4')
    with pytest.raises(LabelError, match=message):
        read_labels(db)


def test_a_broken_label_file_stops_the_dataset_stage_before_any_work(tmp_path: Path) -> None:
    """The real stage command: the message names the id, and nothing is written."""
    repo = copy_repo(tmp_path / "repo")
    db = write_labels(tmp_path / "labels.db")
    execute(db, f"INSERT INTO {LABEL_TABLE} SELECT * FROM {LABEL_TABLE} WHERE id = 6")
    set_params(repo, {"data": {"labels_db": str(db)}})
    # As DVC runs it (DVC_STAGE set): the label check itself, not the missing-input hint.
    stage = [sys.executable, "-m", "moviegenre.pipeline.dataset"]
    result = run(stage, repo, check=False, timeout=120, env={"DVC_STAGE": "dataset"})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"dataset: {db}: duplicate trailer ids in lmtd9_0: 000006 (rows 6, 9)"
    )
    assert not any((repo / "results" / "dataset").glob("*"))


def every_problem_at_once(db: Path) -> list[str]:
    """A NULL genre value, a `set` of 7 and a duplicate id in one file; the lines naming them."""
    execute(
        db,  # LMTD-9's own table has no NOT NULL constraints: copy it without them
        f"CREATE TABLE loose AS SELECT * FROM {LABEL_TABLE}",
        f"DROP TABLE {LABEL_TABLE}",
        f"ALTER TABLE loose RENAME TO {LABEL_TABLE}",
        f'UPDATE {LABEL_TABLE} SET "isHorror" = NULL WHERE id = 2',
        f'UPDATE {LABEL_TABLE} SET "set" = 7 WHERE id = 5',
        f"INSERT INTO {LABEL_TABLE} SELECT * FROM {LABEL_TABLE} WHERE id = 6",
    )
    return [
        "id 000002: isHorror=NULL is not 0/1",
        "id 000005 has set=7; expected 0 (train), 1 (valid) or 2 (test)",
        "duplicate trailer ids in lmtd9_0: 000006 (rows 6, 9)",
    ]


def test_every_problem_is_reported_in_one_error(tmp_path: Path) -> None:
    db = write_labels(tmp_path / "database.db")
    expected = every_problem_at_once(db)
    execute(db, f'ALTER TABLE {LABEL_TABLE} DROP COLUMN "isSciFi"')
    with pytest.raises(LabelError) as error:
        read_labels(db)
    lines = str(error.value).splitlines()
    assert lines[0] == f"{db}: 4 problems in the label file:"
    assert lines[1:] == [
        "  - table lmtd9_0 lacks genre columns: isSciFi",
        *(f"  - {line}" for line in expected),
    ]


def test_every_problem_reaches_the_user_without_a_traceback(tmp_path: Path) -> None:
    """The real dataset stage and `moviegenre import-lmtd`: exit 2, the whole report."""
    repo = copy_repo(tmp_path / "repo")
    db = write_labels(tmp_path / "labels.db")
    expected = every_problem_at_once(db)
    set_params(repo, {"data": {"labels_db": str(db)}})
    stage = [sys.executable, "-m", "moviegenre.pipeline.dataset"]
    result = run(stage, repo, check=False, timeout=120, env={"DVC_STAGE": "dataset"})
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        f"dataset: {db}: 3 problems in the label file:",
        *(f"  - {line}" for line in expected),
    ]
    assert not any((repo / "results" / "dataset").glob("*"))

    videos = tmp_path / "videos"
    videos.mkdir()
    command = ["moviegenre", "import-lmtd", "--db", str(db), "--videos", str(videos)]
    result = run([*command, "--no-params"], repo, check=False, timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"moviegenre import-lmtd: {db}: 3 problems in the label file:")
    assert all(problem in line for problem in expected)


# ---- labels vs trailer files: reported, fatal only when nothing is left --------------------


def test_mismatches_are_reported_and_the_rest_is_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = config_for(write_labels(tmp_path / "database.db"))
    files = {f"{i:06d}": f"{i:06d}.mp4" for i in range(1, 7)}  # 7 and 8: no trailer file
    files["000099"] = "000099.mkv"  # a file with no label
    files["new trailer é"] = "new trailer é.webm"
    good = ["000001", "000002", "000003", "000004", "000005", "000099", "new trailer é"]
    write_extraction(config, files, with_features=good)  # 000006: extraction failed

    report = build_dataset(config, Path("results/dataset"))

    problems = report["problems"]
    assert problems["labelled_without_visual_features"] == ["000006", "000007", "000008"]
    assert problems["labelled_without_trailer_file"] == ["000007", "000008"]
    assert problems["files_without_labels"] == ["000099", "new trailer é"]
    assert report["n_trailers"] == 5
    saved = json.loads(Path("results/dataset/report.json").read_text())
    assert saved["problems"] == problems
    data = load_dataset(Path("results/dataset"))
    assert data.index["trailer_id"].tolist() == ["000001", "000002", "000003", "000004", "000005"]
    assert data.visual.shape == (5, FRAMES, DIM) and bool(data.index["has_audio"].all())


def test_an_empty_join_raises_dataset_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = config_for(write_labels(tmp_path / "database.db", ids=[7, 8]))
    files = {"000001": "000001.mp4", "000002": "000002.mp4"}
    write_extraction(config, files, with_features=list(files))
    with pytest.raises(DatasetError, match=r"2 labelled trailers, 0 of them with visual features"):
        build_dataset(config, Path("results/dataset"))
    assert not Path("results/dataset/index.parquet").exists()


def test_four_genre_setting_with_none_of_the_four_raises_dataset_error(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # 2: Comedy + Romance has Romance; 7: Comedy only; keep only 7
    config = config_for(write_labels(tmp_path / "database.db", ids=[7]), genres=4)
    write_extraction(config, {"000007": "000007.mp4"}, with_features=["000007"])
    with pytest.raises(DatasetError, match=r"1 of them with visual features, 1 without any"):
        build_dataset(config, Path("results/dataset"))
