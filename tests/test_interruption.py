"""Killed runs: a rerun of the same command finishes with the outputs of an uninterrupted run.

The commands are the real ones (`snakemake --cores 2 --resources gpu=1` as the README
gives it, `python -m moviegenre.pipeline.train cnn1d 0`), started in their own session and
killed with SIGKILL to the whole process group, as a lost terminal or an OOM killer
would. No partial file may ever be taken for a valid one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from helpers import (
    AUDIO_SHARDS,
    REPO,
    VISUAL_SHARDS,
    assert_same_outputs,
    copy_repo,
    extraction_snapshot,
    run,
    tool_env,
)

from moviegenre.features.shards import (
    CorruptShardError,
    read_audio_shard,
    read_visual_shard,
    write_table_atomic,
)

SNAKEMAKE = ["snakemake", "--cores", "2", "--resources", "gpu=1"]  # the README's command
PARAMS = {
    "synth": {"count": 16},  # splits 11 / 2 / 3
    "extraction": {"shards": 2},
    "train": {"epochs": 6, "patience": 6},
}


def start(cmd: list[str], cwd: Path, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """Start a command as the leader of a new process group (so all its children die with it)."""
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process.poll() is not None:
            raise AssertionError(f"the command ended ({process.returncode}) before {what}")
        time.sleep(0.05)
    kill_group(process)
    raise AssertionError(f"timed out waiting for {what}")


def group_stopped(pgid: int) -> bool:
    """Whether every live process of the group is stopped (state T) or a zombie (Z)."""
    states = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:
            states.append(fields[0])
    return all(state in "TtZ" for state in states)


def stop_mid_shard(process: subprocess.Popen, logs: Path, outputs: Path) -> str:
    """Freeze the run (SIGSTOP to its group) while a visual shard is part done; its name.

    Progress in a shard's log does not mean the shard is still running when a signal lands:
    it may finish in between (the race a plain SIGKILL after the log check had). A frozen
    group writes nothing more, so the output check made then is final; a shard found
    finished is let go (SIGCONT) and another one awaited.
    """
    done: set[str] = set()

    def shard_in_progress() -> str | None:
        for log in sorted(logs.glob("shard-*.log")) if logs.is_dir() else []:
            text = log.read_text()
            if log.stem not in done and re.search(
                r"visual shard-\d{4}: [1-9]\d*/\d+ trailers", text
            ):
                return log.stem
        return None

    while True:
        shard = wait_for(shard_in_progress, 300, "a visual shard to make progress", process)
        os.killpg(process.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while not group_stopped(process.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not any(
            (outputs / f"{shard}{suffix}").exists() for suffix in (".parquet", ".status.csv")
        ):
            return shard
        done.add(shard)
        os.killpg(process.pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def synth_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy with its synthetic trailers written, nothing extracted yet (do not modify)."""
    repo = copy_repo(tmp_path_factory.mktemp("interrupt") / "synth", PARAMS)
    run([sys.executable, "-m", "moviegenre.pipeline.synth"], repo, timeout=300)
    return repo


@pytest.fixture(scope="module")
def reference(synth_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An uninterrupted extraction and the data set built from it (do not modify)."""
    repo = tmp_path_factory.mktemp("interrupt") / "reference"
    shutil.copytree(synth_repo, repo, symlinks=True)
    run(SNAKEMAKE, repo, timeout=600)
    outputs = extraction_snapshot(repo)
    run([sys.executable, "-m", "moviegenre.pipeline.dataset"], repo, timeout=300)
    run([sys.executable, "-m", "moviegenre.pipeline.folds"], repo, timeout=300)
    return {"repo": repo, "outputs": outputs}


# ---- feature extraction --------------------------------------------------------------------


@pytest.mark.slow
def test_killed_extraction_reruns_to_identical_outputs(
    synth_repo: Path, reference: dict, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(synth_repo, repo, symlinks=True)
    logs = repo / "results/logs/visual/mobilenetv3small"

    first = start(SNAKEMAKE, repo)
    shard = stop_mid_shard(first, logs, repo / VISUAL_SHARDS)
    kill_group(first)  # SIGKILL reaches stopped processes too
    assert first.returncode == -signal.SIGKILL
    # killed mid-shard: none of that shard's outputs exist, not even partly
    assert not (repo / VISUAL_SHARDS / f"{shard}.parquet").exists()
    assert not (repo / VISUAL_SHARDS / f"{shard}.status.csv").exists()
    assert not (repo / "results/extraction_report.csv").exists()
    # what a kill during the write itself leaves: temporaries, never read, cleaned by the rerun
    leftovers = [
        repo / VISUAL_SHARDS / f".{shard}.parquet.tmp-999999",
        repo / VISUAL_SHARDS / f".{shard}.status.csv.tmp-999999",
    ]
    for leftover in leftovers:
        leftover.write_bytes(b"PAR1 half a parquet file")

    # The same command, nothing added: the killed run's locks are released (their owner is
    # dead) and its incomplete shard is redone (profile: rerun-incomplete).
    second = run(SNAKEMAKE, repo, check=False, timeout=600)
    assert second.returncode == 0, second.stderr[-4000:]
    assert "LockException" not in second.stderr
    assert "moviegenre: " in second.stderr  # the end-of-run summary
    assert_same_outputs(extraction_snapshot(repo), reference["outputs"])
    assert not [p for p in (repo / "results").rglob("*") if ".tmp-" in p.name]
    again = run(SNAKEMAKE, repo, timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr


def mark_incomplete(repo: Path, outputs: list[Path]) -> list[Path]:
    """Mark outputs incomplete exactly as Snakemake does when a job starts.

    Snakemake's file persistence (``Persistence.started`` -> ``_mark_incomplete``) writes
    ``{"external_jobid": null}`` to .snakemake/incomplete/<urlsafe base64 of the output path>
    and removes it when the job finishes; a job killed in between leaves it behind.
    """
    markers = []
    for output in outputs:
        key = base64.urlsafe_b64encode(str(output).encode()).decode()
        marker = repo / ".snakemake/incomplete" / key
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"external_jobid": None}))
        markers.append(marker)
    return markers


@pytest.mark.slow
def test_plain_snakemake_command_reruns_incomplete_jobs(reference: dict, tmp_path: Path) -> None:
    """A shard job killed after writing its outputs but before Snakemake recorded it as done:
    the outputs are there (one of them half written) and marked incomplete. The plain
    command must redo that job, which needs the profile's rerun-incomplete."""
    profile = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert profile["rerun-incomplete"] is True and profile["keep-going"] is True
    repo = tmp_path / "repo"
    shutil.copytree(reference["repo"], repo, symlinks=True)
    features, status = AUDIO_SHARDS / "shard-0001.parquet", AUDIO_SHARDS / "shard-0001.status.csv"
    (repo / features).write_bytes(b"PAR1 half a parquet file")  # present, not valid
    unmarked = run([*SNAKEMAKE, "-n"], repo)  # newer than its inputs: nothing would redo it
    assert "Nothing to be done" in unmarked.stdout + unmarked.stderr
    markers = mark_incomplete(repo, [features, status])

    dry = run([*SNAKEMAKE, "-n"], repo)
    text = dry.stdout + dry.stderr
    assert "Using workflow specific profile" in text
    assert re.search(r"^audio_shard\s+1\s*$", text, re.M), text[-3000:]
    # rerun-incomplete forces the incomplete job (without it: IncompleteFilesException)
    assert re.search(r"wildcards: shard=0001", text) and "reason: Forced execution" in text
    assert not re.search(r"^visual_shard\s", text, re.M), text[-3000:]

    result = run(SNAKEMAKE, repo, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert not any(marker.exists() for marker in markers)
    assert_same_outputs(extraction_snapshot(repo), reference["outputs"])  # the half file was redone
    again = run([*SNAKEMAKE, "-n"], repo)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_truncated_or_short_shards_are_never_read_as_valid(reference: dict, tmp_path: Path):
    source = reference["repo"] / VISUAL_SHARDS / "shard-0000.parquet"
    cut = tmp_path / "shard-0000.parquet"
    data = source.read_bytes()
    for keep in (len(data) // 2, len(data) - 10, 100):
        cut.write_bytes(data[:keep])
        with pytest.raises(CorruptShardError, match=re.escape(str(cut))):
            read_visual_shard(cut)
    audio_cut = tmp_path / "audio-shard-0000.parquet"
    audio_cut.write_bytes(
        (reference["repo"] / AUDIO_SHARDS / "shard-0000.parquet").read_bytes()[:-50]
    )
    with pytest.raises(CorruptShardError, match=re.escape(str(audio_cut))):
        read_audio_shard(audio_cut)
    # a readable file that lost rows (e.g. rewritten by another tool) disagrees with its metadata
    table = pq.read_table(source)
    fewer = tmp_path / "fewer.parquet"
    pq.write_table(table.slice(0, table.num_rows - 1), fewer)
    with pytest.raises(CorruptShardError, match=r"fewer.parquet: has \d+ rows but its metadata"):
        read_visual_shard(fewer)


def test_the_next_write_removes_leftover_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "shard-0001.parquet"
    leftovers = [tmp_path / f".shard-0001.parquet.tmp-{pid}" for pid in (12, 99999)]
    for leftover in leftovers:
        leftover.write_bytes(b"partial")
    other = tmp_path / ".shard-0002.parquet.tmp-12"  # another shard's: not ours to remove
    other.write_bytes(b"partial")
    write_table_atomic(pa.table({"trailer_id": ["000001"]}), target, {"kind": "test"})
    assert not any(p.exists() for p in leftovers) and other.exists()
    assert pq.read_table(target).num_rows == 1


# ---- training -------------------------------------------------------------------------------


@pytest.mark.slow
def test_killed_training_reruns_to_the_same_predictions(reference: dict, tmp_path: Path) -> None:
    train = [sys.executable, "-m", "moviegenre.pipeline.train", "cnn1d", "0"]  # fold 0's model
    whole = tmp_path / "uninterrupted"
    killed = tmp_path / "killed"
    for copy in (whole, killed):
        shutil.copytree(reference["repo"], copy, symlinks=True)

    process = start(train, killed, stderr=subprocess.PIPE)
    seen = []
    for line in process.stderr:  # one line per epoch, on stderr
        seen.append(line)
        if re.search(r"\[cnn1d\] epoch 1/6 ", line):
            kill_group(process)
            break
    else:
        process.wait()
        raise AssertionError("training ended without an epoch line:\n" + "".join(seen))
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "results/stacking/cnn1d/fold-0.parquet").exists()

    run(train, killed, timeout=600)  # the same command again
    run(train, whole, timeout=600)
    got = pd.read_parquet(killed / "results/stacking/cnn1d/fold-0.parquet")
    expected = pd.read_parquet(whole / "results/stacking/cnn1d/fold-0.parquet")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=1e-5, rtol=0)
    # the curves of the killed attempt are not mixed into the rerun's
    got_h, expected_h = (
        json.loads((c / "results/training/cnn1d/fold-0/history.json").read_text())
        for c in (killed, whole)
    )
    assert (got_h["epochs_run"], got_h["best_epoch"]) == (
        expected_h["epochs_run"],
        expected_h["best_epoch"],
    )
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(got_h[key], expected_h[key], atol=1e-6)
    assert not list((killed / "models").glob(".*tmp*"))
