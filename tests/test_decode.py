"""Decoding frames and sound from tiny synthetic videos (tests/media.py) with PyAV."""

from __future__ import annotations

import pickle

import av
import numpy as np
import pytest
from media import (
    expected_frame_index,
    read_frame_index,
    truncate_file,
    write_test_video,
    write_text_file,
)
from seeking import decode_frames_seeking

from moviegenre.features.audio import is_silent
from moviegenre.features.decode import (
    MediaInfo,
    TrailerError,
    decode_frames,
    iter_frames_at,
    probe,
)
from moviegenre.features.sound import decode_audio
from moviegenre.features.timestamps import frame_timestamps

FPS = 8
SIZE = (64, 48)  # (width, height)
SR = 22050


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """A few small files shared by the tests of this module (written once)."""
    d = tmp_path_factory.mktemp("videos")
    return {
        "main": write_test_video(d / "main.mp4", 8.0, fps=FPS, size=SIZE),
        "gop": write_test_video(d / "gop.mp4", 8.0, fps=FPS, size=SIZE, gop=12),
        "noaudio": write_test_video(d / "noaudio.mp4", 3.0, audio=False),
        "novideo": write_test_video(d / "novideo.mkv", 3.0, video=False),
        "faststart": write_test_video(d / "faststart.mp4", 12.0, faststart=True),
        "dir": d,
    }


def indices(frames: np.ndarray) -> list[int]:
    return [read_frame_index(f) for f in frames]


def test_probe_reports_streams_and_duration(videos):
    info = probe(videos["main"])
    assert isinstance(info, MediaInfo)
    assert info.duration_s == pytest.approx(8.0, abs=0.1)
    assert (info.has_video, info.has_audio) == (True, True)
    assert (info.width, info.height, info.fps, info.rotation_deg) == (64, 48, 8.0, 0)
    assert (info.audio_sample_rate, info.audio_channels) == (SR, 1)
    assert info.path == videos["main"]


def test_picks_the_nearest_frame_for_each_timestamp(videos):
    n_frames = 8 * FPS
    # unsorted, repeated, between frames, on half-periods, before 0 and past the end
    ts = np.array([5.0, 1.0, 1.0, 0.0, 2.3, 2.9375, 3.06, 7.87, -1.0, 7.999, 30.0])
    got = indices(decode_frames(videos["main"], ts, size=SIZE))
    assert got == [expected_frame_index(t, FPS, n_frames) for t in ts]
    assert got[-1] == n_frames - 1  # clamped to the last frame


def test_output_shape_and_dtype(videos):
    ts = np.array([1.0, 2.0, 3.0])
    frames = decode_frames(videos["main"], ts, size=(40, 30))
    assert frames.shape == (3, 30, 40, 3) and frames.dtype == np.uint8
    default = decode_frames(videos["main"], ts[:1])
    assert default.shape == (1, 224, 224, 3)
    assert read_frame_index(default[0]) == FPS  # the pattern survives the resize
    assert decode_frames(videos["main"], np.array([])).shape == (0, 224, 224, 3)


def test_iter_frames_at_yields_each_target_once_in_time_order(videos):
    ts = np.array([4.0, 1.0, 4.0, 2.0])
    out = list(iter_frames_at(videos["main"], ts, size=SIZE, threads=1))
    assert [i for i, _ in out] == [1, 3, 0, 2]
    assert all(img.shape == (48, 64, 3) and img.dtype == np.uint8 for _, img in out)
    a, b = out[2][1], out[3][1]
    assert a is not b and np.array_equal(a, b)  # repeated targets get their own copy


def test_short_video_clamps_method_timestamps(tmp_path):
    path = write_test_video(tmp_path / "short.mkv", 7.0, fps=FPS, size=SIZE)
    info = probe(path)
    ts = frame_timestamps(info.duration_s)
    got = indices(decode_frames(path, ts, size=SIZE))
    assert len(got) == 116
    assert got[0] == 5 * FPS
    assert np.all(np.diff(got) >= 0)
    assert got[-1] == 7 * FPS - 1  # the last frame, many times
    assert got.count(7 * FPS - 1) > 50


def test_max_overrun_flags_a_video_that_ends_early(videos):
    ts = np.array([1.0, 20.0])
    assert indices(decode_frames(videos["main"], ts, size=SIZE))[1] == 8 * FPS - 1
    with pytest.raises(TrailerError) as err:
        list(iter_frames_at(videos["main"], ts, size=SIZE, max_overrun_s=2.0))
    assert err.value.reason == "decode_error"


def test_sequential_pass_matches_seeking_per_timestamp(videos):
    ts = np.array([0.3, 1.0, 1.49, 2.5, 2.5, 4.06, 6.0, 7.9, 9.0, 0.7])
    seq = decode_frames(videos["gop"], ts, size=SIZE)
    seek = decode_frames_seeking(videos["gop"], ts, size=SIZE)
    assert indices(seq) == indices(seek) == [expected_frame_index(t, FPS, 64) for t in ts]
    assert np.abs(seq.astype(int) - seek.astype(int)).max() <= 2


@pytest.mark.skipif(
    not hasattr(av.video.stream.VideoStream, "set_display_rotation"),
    reason="this PyAV cannot write a display matrix (VideoStream.set_display_rotation)",
)
@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_video_comes_out_upright(tmp_path, rotation):
    # displayed 48x64 (portrait); stored turned, with a display matrix, as phones do
    path = write_test_video(tmp_path / f"rot{rotation}.mp4", 2.0, size=(48, 64), rotation=rotation)
    info = probe(path)
    assert info.rotation_deg == rotation
    stored = (64, 48) if rotation % 180 else (48, 64)
    assert (info.width, info.height) == stored
    frames = decode_frames(path, np.array([0.5, 1.5]), size=(48, 64))
    assert frames.shape == (2, 64, 48, 3)
    assert indices(frames) == [4, 12]  # read_frame_index fails on a turned picture
    assert indices(decode_frames_seeking(path, np.array([1.5]), size=(48, 64))) == [12]


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".webm", ".avi", ".mov"])
def test_containers(tmp_path, ext):
    path = write_test_video(tmp_path / f"clip{ext}", 6.0, fps=FPS, size=SIZE)
    info = probe(path)
    assert info.has_video and info.has_audio
    assert info.duration_s == pytest.approx(6.0, abs=0.15)
    assert info.fps == pytest.approx(FPS)
    ts = np.array([0.0, 2.5, 5.0, 5.9])
    assert indices(decode_frames(path, ts, size=SIZE)) == [0, 20, 40, 47]
    y = decode_audio(path, sample_rate=SR, offset_s=5.0)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.size - SR) < 0.05 * SR
    assert not is_silent(y)


@pytest.mark.parametrize(
    ("ext", "rate", "channels"),
    [(".mp4", 8000, 1), (".mp4", 48000, 6), (".mkv", 44100, 2), (".avi", 8000, 1)],
)
def test_audio_is_resampled_to_mono(tmp_path, ext, rate, channels):
    duration, offset = 7.0, 5.0
    path = write_test_video(
        tmp_path / f"a{rate}_{channels}{ext}", duration, sample_rate=rate, channels=channels
    )
    info = probe(path)
    assert (info.audio_sample_rate, info.audio_channels) == (rate, channels)
    y = decode_audio(path, sample_rate=SR, offset_s=offset)
    assert y.dtype == np.float32 and y.ndim == 1
    expected = (duration - offset) * SR
    assert abs(y.size - expected) < 0.05 * expected  # encoder padding: a few ms
    assert np.all(np.isfinite(y)) and 0.05 < np.abs(y).max() <= 1.0


def test_audio_offset_zero_keeps_the_start(videos):
    y = decode_audio(videos["main"], sample_rate=SR, offset_s=0.0)
    assert abs(y.size - 8.0 * SR) < 0.05 * 8.0 * SR


def test_silent_track_decodes_to_silence(tmp_path):
    path = write_test_video(tmp_path / "silent.mp4", 6.0, silent=True)
    y = decode_audio(path, sample_rate=SR)
    assert y.size > 0.9 * SR and is_silent(y)


def test_audio_shorter_than_offset_is_too_short(videos):
    with pytest.raises(TrailerError) as err:
        decode_audio(videos["main"], offset_s=9.0)
    assert err.value.reason == "too_short"


def test_no_audio_stream(videos):
    assert probe(videos["noaudio"]).has_audio is False
    with pytest.raises(TrailerError) as err:
        decode_audio(videos["noaudio"])
    assert err.value.reason == "no_audio_stream"


def test_no_video_stream(videos):
    info = probe(videos["novideo"])
    assert (info.has_video, info.width, info.fps) == (False, 0, 0.0)
    for call in (decode_frames, decode_frames_seeking):
        with pytest.raises(TrailerError) as err:
            call(videos["novideo"], np.array([1.0]))
        assert err.value.reason == "no_video_stream"
    with pytest.raises(TrailerError) as err:
        list(iter_frames_at(videos["novideo"], np.array([1.0])))
    assert err.value.reason == "no_video_stream"


@pytest.mark.parametrize(
    "call",
    [
        probe,
        lambda p: decode_frames(p, np.array([1.0])),
        lambda p: decode_audio(p),
    ],
)
def test_empty_file(tmp_path, call):
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(TrailerError) as err:
        call(path)
    assert err.value.reason == "empty_file"
    assert str(err.value).startswith("empty.mp4: empty_file: ")


def test_text_file_named_mp4_is_unreadable(tmp_path):
    path = write_text_file(tmp_path / "fake.mp4")
    for call in (probe, decode_audio, lambda p: decode_frames(p, np.array([1.0]))):
        with pytest.raises(TrailerError) as err:
            call(path)
        assert err.value.reason == "unreadable"


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(TrailerError) as err:
        probe(tmp_path / "missing.mp4")
    assert (err.value.reason, err.value.detail) == ("unreadable", "file not found")


def test_truncated_mp4_without_moov_is_unreadable(videos, tmp_path):
    # the mp4 muxer writes the index (moov) at the end: half a file has none
    cut = truncate_file(videos["main"], tmp_path / "cut.mp4", 0.5)
    with pytest.raises(TrailerError) as err:
        probe(cut)
    assert err.value.reason == "unreadable"


def test_truncated_faststart_mp4_decodes_what_is_there(videos, tmp_path):
    # index first (faststart): the header promises 12 s but the data stops part-way
    cut = truncate_file(videos["faststart"], tmp_path / "cut.mp4", 0.5)
    assert probe(cut).duration_s == pytest.approx(12.0, abs=0.1)
    got = indices(decode_frames(cut, np.array([1.0, 11.0]), size=SIZE))
    assert got[0] == FPS and got[1] < 11 * FPS  # clamped to the last frame present
    with pytest.raises(TrailerError) as err:
        list(iter_frames_at(cut, np.array([1.0, 11.0]), size=SIZE, max_overrun_s=1.0))
    assert err.value.reason == "decode_error"
    y = decode_audio(cut, sample_rate=SR, offset_s=0.0)  # the broken last packet is skipped
    assert 0 < y.size < 11 * SR


def test_trailer_error_fields_and_pickling(tmp_path):
    err = TrailerError(tmp_path / "x" / "000002.mp4", "too_short", "3.1 s")
    assert str(err) == "000002.mp4: too_short: 3.1 s"
    assert (err.reason, err.detail, err.path.name) == ("too_short", "3.1 s", "000002.mp4")
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.reason, back.detail, str(back)) == (
        err.path,
        err.reason,
        err.detail,
        str(err),
    )


def test_invalid_arguments(videos):
    with pytest.raises(ValueError):
        decode_frames(videos["main"], np.array([np.nan]))
    with pytest.raises(ValueError):
        decode_frames(videos["main"], np.array([1.0]), size=(0, 10))
