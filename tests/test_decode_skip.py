"""Skipping non-reference frames changes nothing but the work: the same frames come out.

``iter_frames_at`` decodes every reference frame but a non-reference frame (most x264
B-frames) only when it is the one nearest a target. These tests decode the same targets
with and without the skipping, on video with B-frames (constant and variable frame
rate), and compare the pictures bit for bit and the frame indices drawn in them.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from media import (
    expected_frame_index,
    read_frame_index,
    vfr_times,
    write_test_video,
    write_vfr_video,
)

from moviegenre.features.decode import _droppable, decode_frames, nearest_indices

B_FRAME = 3  # AV_PICTURE_TYPE_B


def _picture_types(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [int(frame.pict_type) for frame in container.decode(video=0)]


@pytest.fixture(scope="module")
def b_frame_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_test_video(
        tmp_path_factory.mktemp("skip") / "b.mp4", 12.0, fps=24, size=(96, 64), audio=False
    )
    assert B_FRAME in _picture_types(path), "the test video needs B-frames"
    return path


@pytest.mark.parametrize("threads", [0, 1])
def test_skipping_gives_identical_frames_with_fewer_decoded(b_frame_video: Path, threads: int):
    rng = np.random.default_rng(0)
    stamps = np.sort(rng.uniform(0.0, 12.5, size=30))  # includes targets past the end
    skipped, full = {}, {}
    fast = decode_frames(b_frame_video, stamps, threads=threads, skip_nonref=True, stats=skipped)
    slow = decode_frames(b_frame_video, stamps, threads=threads, skip_nonref=False, stats=full)
    assert np.array_equal(fast, slow)
    assert [read_frame_index(f) for f in fast] == [expected_frame_index(t, 24, 288) for t in stamps]
    assert skipped["frames"] == full["frames"] == 288
    assert skipped["decoded"] < full["decoded"], (skipped, full)


def test_unsorted_and_repeated_targets_survive_skipping(b_frame_video: Path):
    stamps = np.array([7.0, 0.51, 7.0, 3.3, 0.0, 11.99])
    frames = decode_frames(b_frame_video, stamps, skip_nonref=True)
    assert [read_frame_index(f) for f in frames] == [
        expected_frame_index(t, 24, 288) for t in stamps
    ]


def test_variable_frame_rate_gets_the_nearest_frame_with_and_without_skipping(tmp_path: Path):
    """After a long gap the next frame may be farther than the one before it."""
    times = vfr_times()
    path = write_vfr_video(tmp_path / "vfr.mp4", times)
    stamps = np.linspace(0.0, times[-1] + 0.05, 97)
    expected = np.argmin(
        np.abs(times[None, :] - stamps[:, None]) + 1e-9 * np.arange(len(times)), axis=1
    )
    fast = decode_frames(path, stamps, skip_nonref=True)
    slow = decode_frames(path, stamps, skip_nonref=False)
    assert np.array_equal(fast, slow)
    assert [read_frame_index(f) for f in fast] == expected.tolist()
    assert np.array_equal(nearest_indices(times, stamps), expected)


def test_whole_gops_without_targets_are_not_decoded(tmp_path: Path):
    """Keyframes every second, targets every 2.5 s: most packets never reach the decoder."""
    path = write_test_video(tmp_path / "gop.mp4", 12.0, fps=24, size=(96, 64), audio=False, gop=24)
    stamps = np.arange(0.4, 12.0, 2.5)
    skipped, full = {}, {}
    fast = decode_frames(path, stamps, skip_nonref=True, stats=skipped)
    slow = decode_frames(path, stamps, skip_nonref=False, stats=full)
    assert np.array_equal(fast, slow)
    assert [read_frame_index(f) for f in fast] == [expected_frame_index(t, 24, 288) for t in stamps]
    assert skipped["decoded"] < 0.3 * full["decoded"], (skipped, full)


def test_packets_are_dropped_only_after_the_last_wanted_one_of_a_closed_gop():
    """Decode-order pts; keyframes start GOPs. Open GOP (a frame shown before the keyframe
    it follows, which refers to the GOP before): nothing may be dropped."""
    #               K  .  .  .  K  .  .  .  K  .
    closed = np.array([0, 2, 1, 3, 4, 6, 5, 7, 8, 9])
    key = np.array([1, 0, 0, 0, 1, 0, 0, 0, 1, 0], dtype=bool)
    assert _droppable(closed, key, {1, 8}) == [3, 4, 6, 5, 7, 9]
    assert _droppable(closed, key, {6}) == [0, 2, 1, 3, 5, 7, 8, 9]
    opened = np.array([0, 2, 1, 3, 5, 4, 6, 7, 8, 9])  # 4 decoded after keyframe 5
    assert _droppable(opened, key, {1, 8}) == []


def test_extracted_features_equal_those_of_every_frame_decoded(tmp_path: Path):
    """The shard job (which skips) writes the features the unskipped frames give."""
    from moviegenre.features.backbones import build_backbone
    from moviegenre.features.extract import extract_visual_shard
    from moviegenre.features.shards import read_visual_shard
    from moviegenre.features.timestamps import frame_timestamps

    path = write_test_video(tmp_path / "t.mp4", 9.0, fps=24, size=(96, 64), audio=False)
    frames_cfg = {"start_s": 5.0, "end_s": 120.0, "count": 116, "step_ms": "exact"}
    backbone_cfg = {"name": "mobilenetv3small", "weights": "none", "batch_size": 32}
    backbone = build_backbone("mobilenetv3small", "none")
    out = tmp_path / "visual.parquet"
    statuses = extract_visual_shard(
        {"000001": path},
        out,
        tmp_path / "visual.status.csv",
        frames_cfg,
        backbone_cfg,
        {"decode_threads": 2, "min_duration_s": 6.0},
        backbone,
    )
    assert [s.status for s in statuses] == ["ok"]
    stamps = frame_timestamps(9.0)
    every_frame = decode_frames(path, stamps, skip_nonref=False)
    expected = backbone.embed(every_frame, 32).astype(np.float16)
    assert np.array_equal(read_visual_shard(out).of(0), expected)
