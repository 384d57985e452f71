"""A crash in native decoding costs one trailer, not the audio shard (issue 22).

The 7.1 AAC soundtrack that used to SIGSEGV the shard job is extracted for real among
good trailers; a decoder crash (simulated by the test hook of features/isolation.py, which
SIGSEGVs the child on one file) fails that trailer as ``decoder_crash`` and keeps the
others' vectors, value for value.
"""

from __future__ import annotations

import json

import numpy as np
from media import tone, write_audio_file, write_late_audio_video, write_test_video

from moviegenre.features.extract import extract_audio_shard
from moviegenre.features.isolation import CRASH_FOR_TESTS_ENV, IsolatedWorker
from moviegenre.features.shards import read_audio_shard
from moviegenre.features.status import read_status_csv
from moviegenre.features.trailer import audio_features_for

CFG = {
    "sample_rate": 22050,
    "offset_s": 0.5,
    "n_mfcc": 13,
    "lpc_order": 9,
    "pooling": "seed",
    "resampler": "soxr_hq",
    "max_seconds": 600,
}


def _trailers(tmp_path):
    return {
        "a": write_test_video(tmp_path / "a.mp4", 3.0, size=(32, 32), sample_rate=44100),
        "surround": write_audio_file(
            tmp_path / "surround.mp4", tone(3.0, 48000, 8), 48000, "aac", "7.1"
        ),
        "b": write_test_video(tmp_path / "b.mkv", 3.0, size=(32, 32), channels=2),
    }


def test_a_crashing_trailer_costs_only_itself(tmp_path, monkeypatch):
    videos = _trailers(tmp_path)
    expected = {key: audio_features_for(path, CFG)[0] for key, path in videos.items()}

    rows = extract_audio_shard(videos, tmp_path / "ok.parquet", tmp_path / "ok.csv", CFG)
    assert [(r.trailer_id, r.status) for r in rows] == [(k, "ok") for k in videos]
    ids, vectors, _, _ = read_audio_shard(tmp_path / "ok.parquet")
    for key, vector in zip(ids, vectors, strict=True):
        np.testing.assert_array_equal(vector, expected[key])  # 7.1 included, in a child

    monkeypatch.setenv(CRASH_FOR_TESTS_ENV, "surround.mp4")  # its child dies of SIGSEGV
    rows = extract_audio_shard(videos, tmp_path / "c.parquet", tmp_path / "c.csv", CFG)
    by_id = {r.trailer_id: r for r in read_status_csv(tmp_path / "c.csv")}
    assert [r.trailer_id for r in rows] == list(videos)
    crashed = by_id["surround"]
    assert (crashed.status, crashed.reason) == ("failed", "decoder_crash")
    assert "SIGSEGV" in crashed.detail
    assert by_id["a"].status == by_id["b"].status == "ok"  # the trailer after it too
    ids, vectors, _, _ = read_audio_shard(tmp_path / "c.parquet")
    assert ids == ["a", "b"]
    for key, vector in zip(ids, vectors, strict=True):
        np.testing.assert_array_equal(vector, expected[key])


def test_errors_come_back_with_their_fields(tmp_path):
    short = write_test_video(tmp_path / "short.mp4", 1.0, size=(32, 32))
    with IsolatedWorker() as worker:
        try:
            worker.call(short, audio_features_for, short, CFG, 6.0)
        except Exception as exc:  # noqa: BLE001 - the child's TrailerError, re-raised here
            assert exc.reason == "too_short" and abs(exc.duration_s - 1.0) < 0.1
        else:
            raise AssertionError("too_short expected")
        # the same child goes on serving
        np.testing.assert_array_equal(
            worker.call(short, audio_features_for, short, CFG)[0],
            audio_features_for(short, CFG)[0],
        )


def test_predict_reads_sound_in_the_child_and_reports_its_flags(tmp_path):
    from types import SimpleNamespace

    from moviegenre.predict import Predictor, TrailerResult, render_json

    late = tmp_path / "late.mkv"
    write_late_audio_video(late, 30.0, 36.0)
    with IsolatedWorker() as worker:
        predictor = SimpleNamespace(  # the attributes Predictor.features reads
            frames_cfg={"start_s": 5.0, "end_s": 120.0, "count": 4, "step_ms": "exact"},
            min_duration_s=6.0,
            needs_visual=False,
            needs_audio=True,
            audio_cfg={**CFG, "offset_s": 5.0},
            _audio_worker=worker,
        )
        feats = Predictor.features(predictor, late)
    np.testing.assert_array_equal(feats.audio, audio_features_for(late, predictor.audio_cfg)[0])
    assert feats.audio_flags == "late_audio"
    result = TrailerResult(str(late), True, probabilities=np.array([0.5]), audio_flags="late_audio")
    payload = json.loads(render_json([result], {"genres": ["Action"]}))
    assert payload["trailers"][0]["audio_flags"] == "late_audio"
