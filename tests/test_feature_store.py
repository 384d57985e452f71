"""The per-trailer feature store: reruns decode only what changed, and reuse is exact.

The end-to-end test runs the real `snakemake` on trailers larger than Snakemake's 1 MB
checksum limit (so it compares input times, as with real trailers): touching every file
reruns the shard jobs but decodes nothing, adding one trailer decodes exactly that one,
and every unchanged trailer's rows stay bit-identical.
"""

from __future__ import annotations

import json
import os
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from helpers import copy_repo, run
from media import write_test_video

from moviegenre import paths
from moviegenre.features.extract import audio_store_settings, extract_audio_shard
from moviegenre.features.report import rows_of_this_run, write_report
from moviegenre.features.shards import read_audio_shard, read_visual_shard
from moviegenre.features.status import TrailerStatus, write_origins, write_status_csv
from moviegenre.features.store import FeatureStore, StatIndex, cache_report, file_hash

AUDIO = {
    "sample_rate": 22050,
    "offset_s": 0.5,
    "n_mfcc": 13,
    "lpc_order": 9,
    "pooling": "seed",
    "resampler": "soxr_hq",
}


def test_stat_index_rehashes_on_any_stat_change_and_follows_content(tmp_path: Path) -> None:
    video = tmp_path / "a.bin"
    video.write_bytes(b"x" * 5000)
    index = StatIndex(tmp_path / "store")
    first = index.content_hash(video)
    assert first == file_hash(video) and index.hashed == 1
    assert index.content_hash(video) == first and index.hashed == 1  # unchanged: not read
    os.utime(video, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert index.content_hash(video) == first and index.hashed == 2  # touched: read again
    video.write_bytes(b"y" * 5000)
    assert index.content_hash(video) == file_hash(video) != first


def test_reused_audio_rows_are_bit_identical_and_the_key_follows_settings(
    tmp_path: Path,
) -> None:
    videos = {
        f"t{i}": write_test_video(tmp_path / f"t{i}.mp4", 2.0 + i, size=(32, 32)) for i in range(2)
    }
    fresh = extract_audio_shard(videos, tmp_path / "fresh.parquet", tmp_path / "f.csv", AUDIO)

    def store(audio: dict) -> FeatureStore:
        return FeatureStore(tmp_path / "store", "audio", audio_store_settings(audio, None), "c")

    for name in ("first", "again"):
        rows = extract_audio_shard(
            videos,
            tmp_path / f"{name}.parquet",
            tmp_path / f"{name}.csv",
            AUDIO,
            store=store(AUDIO),
        )
    assert [r.origin for r in rows] == ["reused", "reused"]
    assert [r.status for r in rows] == [r.status for r in fresh]
    a, b = (
        read_audio_shard(tmp_path / "fresh.parquet"),
        read_audio_shard(tmp_path / "again.parquet"),
    )
    assert a[0] == b[0] and a[1].tobytes() == b[1].tobytes() and (a[2] == b[2]).all()
    assert (tmp_path / "fresh.parquet").read_bytes() == (tmp_path / "again.parquet").read_bytes()
    # another setting is another key: nothing reused
    other = store({**AUDIO, "n_mfcc": 12})
    assert all(other.get(other.content_hash(p)) is None for p in videos.values())
    report = cache_report(tmp_path / "store", tmp_path / "no-shards", prune=True)
    assert "2 files removed" in report and not list((tmp_path / "store").rglob("*.npz"))


def test_summary_counts_only_the_shards_this_run_wrote(tmp_path: Path) -> None:
    """Shards written before the run began are "kept", not counted as decoded again."""

    def status(name: str, rows: list[tuple[str, str, str]]) -> Path:
        path = tmp_path / f"shard-{name}.status.csv"
        statuses = [TrailerStatus(t, f"{t}.mp4", "audio", s, origin=o) for t, s, o in rows]
        write_status_csv(statuses, path)
        write_origins(statuses, path)
        return path

    old = status("0000", [("a", "ok", "extracted"), ("b", "ok", "extracted")])
    marker = tmp_path / "started"
    marker.write_text(str(old.stat().st_mtime_ns + 1))
    new = status(
        "0001", [("c", "ok", "reused"), ("d", "ok", "extracted"), ("e", "failed", "extracted")]
    )
    os.utime(new, ns=(old.stat().st_mtime_ns + 2,) * 2)
    rows = rows_of_this_run([old, new], marker)
    summary = write_report(rows, {}, tmp_path / "r.csv", tmp_path / "s.json")
    audio = summary["stages"]["audio"]
    assert (audio["extracted"], audio["reused"], audio["kept"], audio["failed_now"]) == (2, 1, 2, 1)
    assert "[this run: 2 extracted (1 failed), 1 reused" in summary["text"]
    assert "2 in shards not rerun" in summary["text"]
    report = pd.read_csv(tmp_path / "r.csv", dtype=str)  # each row with its status file's shard
    assert dict(zip(report["trailer_id"], report["shard"], strict=True)) == {
        "a": "0000",
        "b": "0000",
        "c": "0001",
        "d": "0001",
        "e": "0001",
    }


def _large_video(path: Path, seed: int, duration_s: float = 8.0) -> Path:
    """A video > 1 MB in few frames: lossless x264 of noise (cheap to write and decode)."""
    rng = np.random.default_rng(seed)
    fps, rate = 8, 22050
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 128, "yuv420p"
        video.options = {"preset": "ultrafast", "qp": "0"}
        audio = container.add_stream("aac", rate=rate, layout="mono")
        for i in range(int(duration_s * fps)):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, (128, 160, 3), dtype=np.uint8), format="rgb24"
            )
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        t = np.arange(int(duration_s * rate)) / rate
        sound = (0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t)).astype(np.float32)
        for start in range(0, len(sound), 1024):
            frame = av.AudioFrame.from_ndarray(
                sound[None, start : start + 1024], format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    assert path.stat().st_size > 1_100_000  # above Snakemake's checksum limit
    return path


def _rows(repo: Path) -> dict[str, bytes]:
    """(modality, trailer id) -> the raw bytes of its rows in the shards."""
    visual = read_visual_shard(
        paths.shard_file(repo / paths.VISUAL_FEATURES / "mobilenetv3small", "0000")
    )
    out = {}
    for i, trailer_id in enumerate(visual.trailer_ids):
        stamps = visual.timestamps[visual.offsets[i] : visual.offsets[i + 1]]
        out[f"visual {trailer_id}"] = visual.of(i).tobytes() + stamps.tobytes()
    ids, vectors, _, _ = read_audio_shard(repo / paths.audio_shard("0000"))
    out.update({f"audio {t}": v.tobytes() for t, v in zip(ids, vectors, strict=True)})
    return out


def _extract(repo: Path) -> dict[str, int]:
    """A real snakemake run; this run's decoded (extracted) count per modality."""
    run(["snakemake", "--cores", "2", "--resources", "gpu=1"], repo)
    summary = json.loads((repo / paths.EXTRACTION_SUMMARY).read_text())
    return {stage: counts["extracted"] for stage, counts in summary["stages"].items()}


@pytest.mark.slow
def test_snakemake_reruns_decode_only_new_trailers_and_keep_rows_identical(
    tmp_path: Path,
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(2):
        _large_video(videos / f"00000{i + 1}.mp4", seed=i)
    repo = copy_repo(
        tmp_path / "repo",
        params={
            "data": {"videos_dir": str(videos)},
            "extraction": {"shards": 1},
            "frames": {"start_s": 1.0, "end_s": 7.0, "count": 3},
        },
    )
    assert _extract(repo) == {"visual": 2, "audio": 2}
    before = _rows(repo)

    statuses = {p: p.read_bytes() for p in (repo / paths.FEATURES).rglob("*.status.csv")}
    now = time.time_ns()
    for video in videos.iterdir():
        os.utime(video, ns=(now, now))
    assert _extract(repo) == {"visual": 0, "audio": 0}  # jobs reran; nothing decoded
    assert _rows(repo) == before
    # status files byte for byte too: DVC sees results/features unchanged
    assert {p: p.read_bytes() for p in statuses} == statuses
    log = (repo / paths.shard_log("visual/mobilenetv3small", "0000")).read_text()
    assert "2 reused from the feature store, 0 extracted" in log

    _large_video(videos / "000003.mp4", seed=2)
    assert _extract(repo) == {"visual": 1, "audio": 1}
    after = _rows(repo)
    assert {k: after[k] for k in before} == before and len(after) == len(before) + 2
