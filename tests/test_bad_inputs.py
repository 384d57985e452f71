"""Bad and unusual trailer files: each is processed correctly or reported by name and reason.

One folder holds every case (tests/media.py writes them tiny: 64x48 at a few fps). They
go through the shard functions directly (with a small backbone built once), then through
the real `snakemake` in a copy of the repository, whose report must name every bad file
with its reason while all the other trailers are kept. docs/bad_inputs.md is the table
of these cases and the behaviour observed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import REPO, copy_repo, run, set_params
from media import (
    VFR_GAPS,
    expected_frame_index,
    read_frame_index,
    truncate_file,
    vfr_times,
    write_test_video,
    write_text_file,
    write_vfr_video,
)

from moviegenre.config import ConfigError, validate_config
from moviegenre.data.trailers import discover_trailers
from moviegenre.features.decode import decode_frames, probe
from moviegenre.features.extract import extract_audio_shard, extract_visual_shard
from moviegenre.features.shards import read_audio_shard, read_visual_shard
from moviegenre.features.status import read_status_csv
from moviegenre.features.timestamps import frame_timestamps

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
FRAMES_CFG = PARAMS["frames"]  # 116 frames from 5 s, as docs/method.md
AUDIO_CFG = PARAMS["audio"]
EXTRACTION_CFG = {**PARAMS["extraction"], "decode_threads": 1}  # min_duration_s: 6
N_FRAMES = FRAMES_CFG["count"]
QUOTED_NAME = "bad 'quote' \"dq\" café.mp4"

OK = ("ok", "", "")


@dataclass(frozen=True)
class Case:
    """A trailer file and what extraction must say about it: (status, reason, detail regex)."""

    name: str
    write: Callable[[Path], object]
    visual: tuple[str, str, str] = OK
    audio: tuple[str, str, str] = OK
    flags: str = ""


def write_truncated(path: Path, faststart: bool) -> None:
    """An interrupted download: the first half of a good file."""
    source = path.parent.parent / f"source-{path.name}"
    write_test_video(source, 12.0, fps=4, faststart=faststart)
    truncate_file(source, path, 0.5)


def video(duration_s: float = 8.0, **kwargs) -> Callable[[Path], Path]:
    kwargs.setdefault("fps", 4)
    return lambda path: write_test_video(path, duration_s, **kwargs)


def too_short(seconds: str, what: str) -> tuple[str, str, str]:
    detail = rf"the trailer lasts {seconds} s; at least 6 s are needed \({what} taken from 5 s on\)"
    return ("skipped", "too_short", detail)


UNREADABLE_MOOV = ("failed", "unreadable", r"no moov atom\): truncated download\?")
UNREADABLE_TEXT = ("failed", "unreadable", r"not a media file: it holds text \('this is not")

CASES: tuple[Case, ...] = (
    Case("plain.mp4", video()),
    Case(
        "empty.mp4",
        lambda p: p.write_bytes(b""),
        ("failed", "empty_file", "^0 bytes$"),
        ("failed", "empty_file", "^0 bytes$"),
    ),
    Case("truncated.mp4", lambda p: write_truncated(p, False), UNREADABLE_MOOV, UNREADABLE_MOOV),
    Case(
        "truncated_faststart.mp4",
        lambda p: write_truncated(p, True),
        ("failed", "decode_error", r"^video ends at [\d.]+ s, .* \(truncated\?\)$"),
        ("failed", "decode_error", r"^sound ends at [\d.]+ s, .* declared end 12.00 s \(truncated"),
    ),
    Case("text.mp4", write_text_file, UNREADABLE_TEXT, UNREADABLE_TEXT),
    Case(
        "no_audio.mp4",
        video(audio=False),
        audio=("skipped", "no_audio_stream", "^the file has no audio stream$"),
    ),
    Case(
        "audio_only.mp4",
        video(video=False),
        visual=("skipped", "no_video_stream", "^the file has no video stream$"),
    ),
    Case(
        "short_3s.mp4", video(3.0), too_short("3.00", "frames are"), too_short("3.00", "sound is")
    ),
    Case(
        "short_4.9s.mp4",
        video(4.9, fps=10),
        too_short("4.90", "frames are"),
        too_short("4.90", "sound is"),
    ),
    Case("exactly_120s.mp4", video(120.0, fps=1, sample_rate=8000, gop=60)),
    Case("long_10min.mp4", video(600.0, fps=1, sample_rate=8000, gop=250)),
    Case("uhd_4k.mp4", video(7.0, fps=1, size=(3840, 2160))),
    Case("portrait.mp4", video(size=(48, 64))),
    Case("rotated_90.mp4", video(rotation=90)),
    Case("vfr.mp4", lambda p: write_vfr_video(p, vfr_times())),
    Case("mono_8k.mp4", video(sample_rate=8000, channels=1)),
    Case("surround_48k_5.1.mp4", video(sample_rate=48000, channels=6)),
    Case("silent.mp4", video(silent=True), flags="silent"),
    Case("matroska.mkv", video()),
    Case("webm.webm", video()),
    Case("avi.avi", video()),
    Case("quicktime.mov", video()),
    Case(QUOTED_NAME, video()),
)
BY_NAME = {case.name: case for case in CASES}


@pytest.fixture(scope="module")
def cases_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case in one folder, as a user would point data.videos_dir at it."""
    root = tmp_path_factory.mktemp("bad_inputs")
    folder = root / "trailers"
    folder.mkdir()
    for case in CASES:
        case.write(folder / case.name)
    return folder


@pytest.fixture(scope="module")
def backbone():
    """A small random backbone, built once: the cases are about decoding, not embeddings."""
    from moviegenre.features.backbones import build_backbone

    return build_backbone("mobilenetv3small", "none")


@pytest.fixture(scope="module")
def extracted(cases_dir: Path, backbone, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One visual and one audio shard over every case, as the shard jobs run them."""
    out = tmp_path_factory.mktemp("shards")
    videos = discover_trailers(cases_dir)
    assert sorted(p.name for p in videos.values()) == sorted(BY_NAME)
    visual = extract_visual_shard(
        videos,
        out / "visual.parquet",
        out / "visual.status.csv",
        FRAMES_CFG,
        PARAMS["backbone"],
        EXTRACTION_CFG,
        backbone=backbone,
    )
    audio = extract_audio_shard(
        videos, out / "audio.parquet", out / "audio.status.csv", AUDIO_CFG, EXTRACTION_CFG
    )
    return {
        "videos": videos,
        "out": out,
        "rows": {(row.file, row.stage): row for row in visual + audio},
        "visual": read_visual_shard(out / "visual.parquet"),
        "audio": read_audio_shard(out / "audio.parquet"),
    }


def ok_in(stage: str) -> list[str]:
    """Trailer ids (file stems) of the cases that must give features for a stage."""
    return sorted(Path(c.name).stem for c in CASES if getattr(c, stage)[0] == "ok")


# ---- (a) the shard functions, case by case -------------------------------------------------


@pytest.mark.parametrize("stage", ["visual", "audio"])
@pytest.mark.parametrize("name", list(BY_NAME))
def test_each_case_gets_its_status_and_reason(extracted: dict, name: str, stage: str) -> None:
    case = BY_NAME[name]
    row = extracted["rows"][(name, stage)]
    status, reason, detail = getattr(case, stage)
    assert (row.status, row.reason) == (status, reason), row.detail
    assert re.search(detail, row.detail), row.detail
    assert row.trailer_id == Path(name).stem
    if stage == "visual":
        assert row.n_frames == (N_FRAMES if status == "ok" else 0)
    else:
        assert row.flags == case.flags
    if reason == "too_short" or status == "ok":
        assert row.duration_s > 0  # the report shows how long a skipped trailer was


def test_good_files_have_rows_and_bad_files_none(extracted: dict) -> None:
    visual, (audio_ids, vectors, silent, _) = extracted["visual"], extracted["audio"]
    assert sorted(visual.trailer_ids) == ok_in("visual")
    assert np.all(np.diff(visual.offsets) == N_FRAMES)
    assert np.all(np.isfinite(visual.features.astype(np.float32)))
    assert sorted(audio_ids) == ok_in("audio")
    assert vectors.shape == (len(audio_ids), 140) and np.all(np.isfinite(vectors))
    assert [i for i, quiet in zip(audio_ids, silent, strict=True) if quiet] == ["silent"]


@pytest.mark.parametrize("stage", ["visual", "audio"])
def test_status_csv_has_one_row_per_input(extracted: dict, stage: str) -> None:
    rows = read_status_csv(extracted["out"] / f"{stage}.status.csv")
    assert sorted(row.file for row in rows) == sorted(BY_NAME)
    assert {row.stage for row in rows} == {stage}
    assert Counter(row.status for row in rows) == Counter(getattr(c, stage)[0] for c in CASES)


def test_long_trailers_sample_1_fps_short_ones_stretch(extracted: dict) -> None:
    visual = extracted["visual"]
    stamps = {t: visual.timestamps[visual.offsets[i] : visual.offsets[i + 1]] for i, t in
              enumerate(visual.trailer_ids)}  # fmt: skip
    np.testing.assert_allclose(stamps["long_10min"], 5.0 + np.arange(N_FRAMES))
    np.testing.assert_allclose(stamps["exactly_120s"], 5.0 + np.arange(N_FRAMES) * 118 / 120)
    assert stamps["plain"][-1] == pytest.approx(8.0, abs=2e-3)  # clamped to the end


def test_a_shard_with_no_usable_trailer_writes_empty_valid_tables(
    cases_dir: Path, backbone, tmp_path: Path
) -> None:
    """Not one good file in a shard (e.g. all without sound): empty tables, not a crash."""
    bad = ("empty.mp4", "text.mp4", "short_3s.mp4")
    visual_videos = {Path(n).stem: cases_dir / n for n in (*bad, "audio_only.mp4")}
    rows = extract_visual_shard(
        visual_videos,
        tmp_path / "v.parquet",
        tmp_path / "v.status.csv",
        FRAMES_CFG,
        PARAMS["backbone"],
        EXTRACTION_CFG,
        backbone=backbone,
    )
    assert [r.status for r in rows] == ["failed", "failed", "skipped", "skipped"]
    assert read_visual_shard(tmp_path / "v.parquet").trailer_ids == []
    audio_videos = {Path(n).stem: cases_dir / n for n in (*bad, "no_audio.mp4")}
    rows = extract_audio_shard(
        audio_videos, tmp_path / "a.parquet", tmp_path / "a.status.csv", AUDIO_CFG, EXTRACTION_CFG
    )
    assert [r.status for r in rows] == ["failed", "failed", "skipped", "skipped"]
    assert read_audio_shard(tmp_path / "a.parquet")[1].shape == (0, 140)
    assert len(read_status_csv(tmp_path / "a.status.csv")) == 4


@pytest.mark.parametrize("name", ["uhd_4k.mp4", "portrait.mp4", "rotated_90.mp4", "plain.mp4"])
def test_frames_are_scaled_upright_and_the_right_ones(cases_dir: Path, name: str) -> None:
    """4K is scaled down by the decoder, portrait and rotated come out upright at 224x224."""
    path = cases_dir / name
    info = probe(path)
    stamps = frame_timestamps(info.duration_s, 5.0, 120.0, N_FRAMES)
    frames = decode_frames(path, stamps, max_overrun_s=2.0)
    assert frames.shape == (N_FRAMES, 224, 224, 3)
    n_frames = int(round(info.duration_s * info.fps))
    assert [read_frame_index(f) for f in frames] == [
        expected_frame_index(t, info.fps, n_frames) for t in stamps
    ]


def test_variable_frame_rate_picks_by_timestamp(cases_dir: Path) -> None:
    """Irregular pts: each target gets the frame nearest to it (a tie: the earlier one)."""
    path = cases_dir / "vfr.mp4"
    times = vfr_times()
    info = probe(path)
    assert info.duration_s == pytest.approx(8.6, abs=0.05)
    stamps = frame_timestamps(info.duration_s, 5.0, 120.0, N_FRAMES)
    got = [read_frame_index(f) for f in decode_frames(path, stamps, max_overrun_s=2.0)]
    distance = np.abs(times[None, :] - stamps[:, None])
    expected = np.argmin(distance + 1e-9 * np.arange(len(times)), axis=1).tolist()
    assert got == expected
    assert np.all(np.abs(times[got] - stamps) <= max(VFR_GAPS) / 2 + 1e-6)


# ---- (b) the real workflow on the same folder ----------------------------------------------


@pytest.mark.slow
def test_snakemake_reports_every_bad_file_and_keeps_the_rest(
    cases_dir: Path, tmp_path: Path
) -> None:
    repo = copy_repo(tmp_path / "repo")
    set_params(repo, {"data": {"videos_dir": str(cases_dir)}, "extraction": {"shards": 1}})
    command = ["snakemake", "--cores", "2", "--resources", "gpu=1"]
    first = run(command, repo, timeout=600)  # raises unless it exits 0

    report = pd.read_csv(repo / "results/extraction_report.csv", dtype=str, keep_default_na=False)
    assert sorted(report["file"]) == sorted(BY_NAME)
    for row in report.itertuples():
        case = BY_NAME[row.file]
        assert (row.visual_status, row.visual_reason) == case.visual[:2], row
        assert (row.audio_status, row.audio_reason) == case.audio[:2], row
        assert row.flags == case.flags

    summary = json.loads((repo / "results/extraction_summary.json").read_text())
    assert summary["n_trailers"] == len(CASES)
    for stage in ("visual", "audio"):
        expected = {"ok": 0, "skipped": Counter(), "failed": Counter()}
        for case in CASES:
            status, reason, _ = getattr(case, stage)
            if status == "ok":
                expected["ok"] += 1
            else:
                expected[status][reason] += 1
        got = summary["stages"][stage]
        assert (got["ok"], got["skipped"], got["failed"]) == (
            expected["ok"],
            dict(expected["skipped"]),
            dict(expected["failed"]),
        )
    bad = {c.name for c in CASES if c.visual[0] != "ok" or c.audio[0] != "ok"}
    assert set(summary["problems"]) == bad
    assert summary["problems"]["text.mp4"] == {
        "visual": "failed: unreadable",
        "audio": "failed: unreadable",
    }
    # the Snakefile's onsuccess prints the summary at the end of the run
    assert f"moviegenre: {summary['text']}" in first.stderr
    assert summary["text"].startswith(f"{len(CASES)} trailers; visual: {len(ok_in('visual'))} ok")

    second = run(command, repo, timeout=300)
    assert "Nothing to be done" in second.stdout + second.stderr


# ---- bad parameters: refused before any work -----------------------------------------------


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"backbone": {"name": "resnet18"}}, "backbone.name: 'resnet18' is not allowed; allowed "
         "values: 'resnet152', 'resnet50', 'vgg16', 'efficientnetb0', 'mobilenetv3small'"),
        ({"audio": {"pooling": "mean"}}, "audio.pooling: 'mean' is not allowed; allowed values: "
         "'seed', 'segments'"),
        ({"dataset": {"genres": 5}}, "dataset.genres: 5 is not allowed; allowed values: 9, 4"),
        ({"extraction": {"shard": 4}}, "extraction: Additional properties are not allowed"),
        ({"extraction": {"min_duration_s": "6 s"}}, "extraction.min_duration_s: '6 s' is not"),
    ],
)  # fmt: skip
def test_each_bad_value_is_named_with_what_is_allowed(update: dict, expected: str) -> None:
    from helpers import deep_update

    config = deep_update(yaml.safe_load((REPO / "params.yaml").read_text()), update)
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert expected in str(err.value)


@pytest.mark.slow
def test_snakemake_refuses_a_bad_value_before_any_job(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo")
    set_params(repo, {"backbone": {"name": "resnet18"}, "audio": {"pooling": "mean"}})

    def results() -> dict[str, tuple[int, int]]:
        return {
            str(p.relative_to(repo)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in (repo / "results").rglob("*")
        }

    before = results()  # whatever the copy holds: not assumed empty
    result = run(["snakemake", "-n", "--cores", "2"], repo, check=False, timeout=120)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "backbone.name: 'resnet18' is not allowed; allowed values: 'resnet152'" in message
    assert "audio.pooling: 'mean' is not allowed" in message  # every problem at once
    assert results() == before  # nothing created or touched
