"""Folder entries that are not plain readable trailers (issue 12): each is reported by name
with a reason, by the extraction (discovery, report, the real `snakemake`) and by `predict`,
while every other trailer is still extracted.

Unreadable files: the tests run as root in CI, and root reads a chmod-000 file; so that
case runs the screening in a child process that really drops to user ``nobody`` (setuid),
where open() fails with EACCES exactly as it does for an ordinary user.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from helpers import copy_repo, run, set_params, tool_env
from media import write_test_video

from moviegenre.data.trailers import collect_inputs, screen_trailers

NOT_UTF8 = os.fsdecode(b"caf\xe9.mp4")  # Latin-1 bytes: not valid UTF-8
CR_NAME = "two\rlines.mp4"
EXPECTED = {  # shown name -> (reason, detail fragment)
    "{braces}.mp4": ("bad_name", "braces in the file name"),
    "caf\\xe9.mp4": ("bad_name", "not valid UTF-8"),
    "pipe.mp4": ("not_a_file", "a FIFO"),
    "folder.mp4": ("not_a_file", "a folder"),
    "dangling.mp4": ("broken_link", "a symbolic link to 'gone.mp4', which does not exist"),
    "dirlink.mp4": ("not_a_file", "a symbolic link to a folder"),
}


def _odd_folder(folder: Path, video: bool = False) -> Path:
    """Good files, plus one of each odd entry (real videos where the content matters)."""
    folder.mkdir()

    def make(name: str) -> None:
        if video:
            write_test_video(folder / name, 6.5, fps=4)
        else:
            (folder / name).write_bytes(b"not decoded here")

    for name in ("good.mp4", CR_NAME, "{braces}.mp4", NOT_UTF8):
        make(name)
    (folder / "link_to_good.mp4").symlink_to("good.mp4")
    os.mkfifo(folder / "pipe.mp4")
    (folder / "folder.mp4").mkdir()
    (folder / "dangling.mp4").symlink_to("gone.mp4")
    (folder / "dirlink.mp4").symlink_to("folder.mp4")
    return folder


def test_discovery_rejects_each_odd_entry_with_a_reason(tmp_path: Path) -> None:
    folder = _odd_folder(tmp_path / "videos")
    found, rejected = screen_trailers(folder, snakemake=True)
    assert sorted(found) == ["good", "link_to_good", "two\rlines"]
    got = {r.name: (r.reason, r.detail) for r in rejected}
    assert set(got) == set(EXPECTED)
    for name, (reason, fragment) in EXPECTED.items():
        assert got[name][0] == reason and fragment in got[name][1], (name, got[name])
    # Without Snakemake, braces are an ordinary name.
    found, rejected = screen_trailers(folder)
    assert "{braces}" in found and "{braces}.mp4" not in {r.name for r in rejected}


def test_predict_reports_the_same_entries_the_same_way(tmp_path: Path) -> None:
    folder = _odd_folder(tmp_path / "videos")
    files, errors = collect_inputs([folder, folder / "pipe.mp4"])
    # link_to_good.mp4 is good.mp4 again: predicted once, as before
    assert sorted(p.name for p in files) == sorted(["good.mp4", CR_NAME, "{braces}.mp4"])
    got = {Path(e.path).name: (e.reason, e.detail) for e in errors}
    assert set(got) == set(EXPECTED) - {"{braces}.mp4"}
    for name in got:
        assert got[name][0] == EXPECTED[name][0], (name, got[name])
    assert len(errors) == len(got) + 1  # the FIFO: in the folder and named explicitly


def _screen_as_nobody(folder: Path) -> list:
    """screen_trailers(folder) in a child process that gives up root for user nobody.

    The interpreter lives under /root, so the child starts as root, imports, and then drops
    its groups, gid and uid for good (os.setuid) before it looks at the folder.
    """
    drop = "os.setgroups([]); os.setgid(65534); os.setuid(65534); " if os.geteuid() == 0 else ""
    code = (
        "import json, os, sys; from moviegenre.data.trailers import screen_trailers; "
        + drop
        + "assert os.geteuid() != 0; found, rejected = screen_trailers(sys.argv[1]); "
        "print(json.dumps([sorted(found), [[r.name, r.reason, r.detail] for r in rejected]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_unreadable_file_is_reported_not_fatal() -> None:
    folder = Path(tempfile.mkdtemp(prefix="moviegenre-unreadable-"))  # reachable by nobody
    try:
        folder.chmod(0o755)
        (folder / "good.mp4").write_bytes(b"x")
        (folder / "good.mp4").chmod(0o644)
        (folder / "secret.mp4").write_bytes(b"x")
        (folder / "secret.mp4").chmod(0o000)
        found, rejected = _screen_as_nobody(folder)
    finally:
        shutil.rmtree(folder)
    assert found == ["good"]
    assert rejected == [["secret.mp4", "cannot_open", "cannot be read: Permission denied"]]


@pytest.mark.slow
def test_snakemake_goes_on_past_every_odd_entry(tmp_path: Path) -> None:
    videos = _odd_folder(tmp_path / "videos", video=True)
    repo = copy_repo(tmp_path / "repo")
    set_params(repo, {"data": {"videos_dir": str(videos)}, "extraction": {"shards": 1}})
    result = run(["snakemake", "--cores", "2", "--resources", "gpu=1"], repo, timeout=600)
    for name, (reason, _) in EXPECTED.items():
        assert f"moviegenre: not extracted: {name}: {reason}" in result.stderr

    report_path = repo / "results/extraction_report.csv"
    report = pd.read_csv(report_path, dtype=str, keep_default_na=False)
    with open(report_path, newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == report.to_dict("records")  # CR read back whole
    rows = {row["file"]: row for row in report.to_dict("records")}
    assert set(rows) == {"good.mp4", "link_to_good.mp4", CR_NAME, *EXPECTED}
    for name in ("good.mp4", "link_to_good.mp4", CR_NAME):
        assert rows[name]["visual_status"] == rows[name]["audio_status"] == "ok", rows[name]
    for name, (reason, fragment) in EXPECTED.items():
        row = rows[name]
        assert (row["visual_status"], row["visual_reason"]) == ("failed", reason), row
        assert (row["audio_status"], row["audio_reason"]) == ("failed", reason), row
        assert fragment in row["visual_detail"]

    summary = json.loads((repo / "results/extraction_summary.json").read_text())
    assert set(summary["problems"]) == set(EXPECTED)
    assert summary["stages"]["visual"]["ok"] == 3
    assert summary["stages"]["visual"]["failed"] == {
        "bad_name": 2,
        "not_a_file": 3,
        "broken_link": 1,
    }
    assert "6 failed (bad_name 2, broken_link 1, not_a_file 3)" in summary["text"]
