"""`moviegenre classify`: an archive through the real Snakemake DAG (issue 20).

Checked with real tiny models in a real bundle, real synthetic trailers and the real
commands: the table has one row per file with its genres or its reason; a run killed with
SIGKILL (Snakemake and its jobs) is finished by the same command, which redoes only the
unfinished shards; the table equals `moviegenre predict` on the same files (probabilities to
1e-6); a folder the extraction DAG already extracted decodes nothing; a config that sets
feature settings, or an output folder of another model, is refused in one line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from bundles import (
    BAD_ENTRIES,
    BUNDLE_CONFIG,
    BUNDLE_GENRES,
    VARIANT_FRAMES,
    VARIANT_PARAMS,
    build_bundle,
    read_csv_by_name,
    write_archive,
)
from helpers import BIN, REPO, copy_repo, run, tool_env

from moviegenre.classify.archive import screen_archive
from moviegenre.classify.plan import validate
from moviegenre.classify.table import FIXED_COLUMNS, threshold_column
from moviegenre.config import ConfigError, load_params

PROB_TOL = 1e-6
SYNTHETIC = "data/synthetic/trailers"  # params.yaml's data.videos_dir
N_DISTINCT, COPIES, SHARDS = 8, 25, 5  # 200 trailers: copies of 8 under new names


def classify_cmd(archive: Path, *extra: str) -> list[str]:
    return [str(BIN / "moviegenre"), "classify", str(archive), "--shards", str(SHARDS), *extra]


def jobs_run(log: str, rule: str) -> set[str]:
    """The shards of ``rule``'s jobs in a Snakemake log."""
    blocks = re.findall(rf"^(?:local)?rule {rule}:\n((?:    .*\n)+)", log, re.M)
    return {re.search(r"wildcards: shard=(\d{4})", block)[1] for block in blocks}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("classify")
    repo = copy_repo(root / "repo", VARIANT_PARAMS)
    config = json.loads(json.dumps(BUNDLE_CONFIG))
    config["frames"] = VARIANT_FRAMES
    build_bundle(repo, config)
    archive = root / "archive"
    write_archive(archive, N_DISTINCT, COPIES)
    reference = root / "predict.csv"
    argv = [str(BIN / "moviegenre"), "predict", str(archive), "--format", "csv"]
    run([*argv, "--output", str(reference), "--threads", "2"], repo, check=False, timeout=900)
    return {"repo": repo, "archive": archive, "reference": read_csv_by_name(reference)}


def finished_shards(log: str, rule: str) -> set[str]:
    """The shards whose ``rule`` job Snakemake reported finished (its bookkeeping done: a
    job killed after writing its output but before that is incomplete, and rerun)."""
    done = set(re.findall(rf"Finished jobid: (\d+) \(Rule: {rule}\)", log))
    blocks = re.findall(rf"^(?:local)?rule {rule}:\n((?:    .*\n)+)", log, re.M)
    shards = {re.search(r"jobid: (\d+)", b)[1]: re.search(r"shard=(\d{4})", b)[1] for b in blocks}
    return {shard for job, shard in shards.items() if job in done}


def kill_half_way(repo: Path, archive: Path, out: Path) -> dict[str, bytes]:
    """Start the archive command, SIGKILL Snakemake and its jobs once some but not all
    shards are scored; return the finished shards' bytes."""
    log_path = repo / "first-run.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        classify_cmd(archive, "--", "--cores", "2"), cwd=repo, env=tool_env(),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 900
    while not finished_shards(log_path.read_text(), "classify_score_shard"):
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "no shard scored within 900 s"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    log.close()
    finished = finished_shards(log_path.read_text(), "classify_score_shard")
    assert 0 < len(finished) < SHARDS, f"killed too late: {sorted(finished)}"
    return {s: (out / "shards" / f"shard-{s}.parquet").read_bytes() for s in finished}


@pytest.mark.slow
def test_archive_killed_half_way_is_finished_by_the_same_command_and_equals_predict(
    setup: dict,
) -> None:
    repo, archive = setup["repo"], setup["archive"]
    out = repo / "results" / "classify" / "archive"
    finished = kill_half_way(repo, archive, out)
    stamps = {s: (out / "shards" / f"shard-{s}.parquet").stat().st_mtime_ns for s in finished}

    second = run(classify_cmd(archive, "--", "--cores", "2"), repo, timeout=900)
    log = second.stdout + second.stderr
    all_shards = {f"{i:04d}" for i in range(SHARDS)}
    unfinished = all_shards - set(finished)
    print(f"\nkilled with {sorted(finished)} scored; the rerun scored {sorted(unfinished)}")
    assert jobs_run(log, "classify_score_shard") == unfinished, log[-4000:]
    assert jobs_run(log, "classify_visual_shard") <= unfinished
    for shard, data in finished.items():  # finished shards are kept as they were
        path = out / "shards" / f"shard-{shard}.parquet"
        assert path.read_bytes() == data and path.stat().st_mtime_ns == stamps[shard]
    assert not [p for p in (repo / "results").rglob("*") if ".tmp-" in p.name]

    table = read_csv_by_name(out / "genres.csv")
    reference = setup["reference"]
    assert set(table) == set(reference)
    assert len(table) == N_DISTINCT * COPIES + len(BAD_ENTRIES)
    for name, row in table.items():
        expected = reference[name]
        assert (row["status"] == "ok") == (expected["status"] == "ok"), (name, row, expected)
        if row["status"] != "ok":
            assert row["reason"] == expected["reason"] == BAD_ENTRIES[name], (name, row)
            assert all(row[g] == "" for g in BUNDLE_GENRES)
            continue
        probs = np.array([float(row[g]) for g in BUNDLE_GENRES])
        np.testing.assert_allclose(
            probs, [float(expected[g]) for g in BUNDLE_GENRES], atol=PROB_TOL
        )
        cuts = np.array([float(row[threshold_column(g)]) for g in BUNDLE_GENRES])
        above = [g for g, p, t in zip(BUNDLE_GENRES, probs, cuts, strict=True) if p >= t]
        assert row["predicted"] == ";".join(above) == expected["predicted"]
    # Parquet holds the same rows as the CSV
    parquet = pq.read_table(out / "genres.parquet").to_pylist()
    assert [Path(r["path"]).name for r in parquet] == sorted(table)
    assert list(parquet[0]) == [
        *FIXED_COLUMNS,
        *BUNDLE_GENRES,
        *map(threshold_column, BUNDLE_GENRES),
    ]
    for record in parquet:
        row = table[Path(record["path"]).name]
        for genre in BUNDLE_GENRES:
            value = record[genre]
            assert (value is None and row[genre] == "") or value == float(row[genre])

    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"] == len(table) and summary["ok"] == N_DISTINCT * COPIES
    assert summary["failed"] + summary["skipped"] + summary["rejected"] == len(BAD_ENTRIES)
    assert f"{summary['ok']} of {summary['files']} files classified" in log

    again = run(classify_cmd(archive, "--", "--cores", "2"), repo, timeout=600)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_a_folder_the_pipeline_extracted_decodes_nothing(tmp_path: Path) -> None:
    """Trailers extracted by `snakemake` (training's DAG) are classified from the feature
    store: the summary says 0 decoded. Also: the classification workflow is --lint clean,
    and an output folder of another model, or a feature setting in the config, is refused."""
    repo = copy_repo(tmp_path / "repo", {**VARIANT_PARAMS, "synth": {"count": 6}})
    run(["moviegenre", "synth"], repo)
    run(["snakemake", "--cores", "2"], repo, timeout=900)
    build_bundle(repo, load_params(repo / "params.yaml"))

    result = run(["moviegenre", "classify", SYNTHETIC, "--", "--cores", "2"], repo)
    summary = json.loads((repo / "results/classify/trailers/summary.json").read_text())
    assert summary["ok"] == 6
    assert summary["features"] == {"visual": {"reused": 6}, "audio": {"reused": 6}}, summary
    assert "0 reused from the feature store, 6 decoded" not in result.stderr
    assert "6 reused from the feature store, 0 decoded" in result.stderr

    lint = run(["snakemake", "--lint", "-s", "workflow/classify.smk", "--config",
                f"archive={SYNTHETIC}"], repo)  # fmt: skip
    assert "Lints for" not in lint.stdout + lint.stderr

    other = run(["moviegenre", "classify", SYNTHETIC, "--model", "cnn1d"], repo, check=False)
    assert other.returncode != 0
    assert "holds genres from bundle" in other.stderr and "model fusion_cnn1d" in other.stderr
    refused = run(["snakemake", "-s", "workflow/classify.smk", "--config", f"archive={SYNTHETIC}",
                   "out=results/x", "frames={}"], repo, check=False)  # fmt: skip
    assert refused.returncode != 0
    assert "takes frames from the bundle's manifest" in refused.stderr


def test_archive_screening_gives_each_odd_entry_a_reason(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in ("a.mp4", "a.mkv", "b{1}.mp4", "c.mp4"):
        (folder / name).write_bytes(b"x")
    (folder / "d.mp4").mkdir()
    (folder / "notes.txt").write_text("not a video extension: ignored")
    archive = screen_archive(folder)
    assert sorted(archive.trailers) == ["a", "c"]
    reasons = {r.name: r.reason for r in archive.rejected}
    assert reasons == {"a.mp4": "duplicate_id", "b{1}.mp4": "bad_name", "d.mp4": "not_a_file"}
    # sorted by name, a.mkv comes first and keeps the id
    assert archive.trailers["a"].name == "a.mkv"
    shards = archive.shards(2)
    assert sorted(t for ids in shards.values() for t in ids) == ["a", "c"]
    assert archive.shards() == archive.shards(1)  # one shard per 100 trailers


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"archive": "x", "frames": {"count": 3}}, "takes frames from the bundle"),
        ({"archive": "x", "audio": {}, "backbone": {}}, "takes backbone, audio from"),
        ({"archive": "x", "shard": 3}, "Additional properties are not allowed"),
        ({"archive": "x", "shards": 0}, "shards: 0 is less than the minimum of 1"),
        ({}, "'archive' is a required property"),
        ({"archive": "x{y}"}, "braces"),
    ],
)
def test_config_is_refused_in_one_message_naming_the_key(config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(config)


def test_config_defaults() -> None:
    config = validate({"archive": "x"})
    assert config["bundle"] == "models/bundle" and config["model"] is None
    assert config["shards"] is None and config["out"] is None


def test_the_command_names_its_workflow_and_profile_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`moviegenre classify` run outside the clone still finds workflow/classify.smk and
    profiles/<name>; words after `--` go to Snakemake; the config is written as JSON."""
    from moviegenre.classify.command import _config, snakemake_command, split_snakemake_args
    from moviegenre.cli import build_parser

    monkeypatch.chdir(tmp_path)
    ours, extra = split_snakemake_args(["classify", "/a b", "--shards", "3", "--", "-n"])
    args = build_parser().parse_args(ours)
    args.snakemake_args = extra
    argv = snakemake_command(args, tmp_path / "config.yaml")
    assert argv[1:4] == ["-m", "snakemake", "-s"]
    assert Path(argv[4]) == REPO / "workflow" / "classify.smk"
    profile = argv[argv.index("--workflow-profile") + 1]
    assert Path(profile) == REPO / "profiles" / "default" and argv[-1] == "-n"
    args.profile = "slurm"
    argv = snakemake_command(args, tmp_path / "config.yaml")
    assert Path(argv[argv.index("--workflow-profile") + 1]) == REPO / "profiles" / "slurm"
    config = _config(args, tmp_path / "out")
    assert config["archive"] == str(Path("/a b")) and config["shards"] == 3
    assert "model" not in config  # the bundle's default
