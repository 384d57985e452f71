"""Synthetic LMTD-style trailers: real H.264/AAC files, LMTD-9 statistics, determinism."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from lmtd_fixtures import read_titles

from moviegenre.data.labels import read_labels
from moviegenre.data.synth import (
    LMTD_GENRE_COUNTS,
    LMTD_GENRES_PER_TRAILER,
    LMTD_SPLIT_SIZES,
    LMTD_TRAILERS,
    SynthConfig,
    generate,
    sample_labels,
    write_trailer,
)
from moviegenre.genres import GENRES_9

TINY = SynthConfig(seed=3, count=4, duration_s=3.0, width=64, height=48, fps=8)


def _one_hot(*genres: str) -> np.ndarray:
    return np.array([g in genres for g in GENRES_9], dtype=np.uint8)


def _decode_video(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_trailer_is_h264_aac_mp4_of_expected_size(tmp_path: Path) -> None:
    path = tmp_path / "000001.mp4"
    write_trailer(path, _one_hot("Action", "Thriller"), TINY, np.random.default_rng(0))
    assert [p.name for p in tmp_path.iterdir()] == ["000001.mp4"]  # no temp file left
    with av.open(str(path)) as container:
        assert container.format.name.startswith("mov,mp4")
        assert [s.codec_context.name for s in container.streams.video] == ["h264"]
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (64, 48)
        assert audio.codec_context.sample_rate == TINY.sample_rate
        assert container.duration / 1e6 == pytest.approx(TINY.duration_s, abs=0.3)
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples / TINY.sample_rate == pytest.approx(TINY.duration_s, abs=0.3)
    frames = _decode_video(path)
    assert frames.shape == (round(TINY.duration_s * TINY.fps), 48, 64, 3)
    assert frames.std() > 5  # a picture, not a blank


def test_trailer_pixels_are_deterministic(tmp_path: Path) -> None:
    genres = _one_hot("SciFi", "Horror")
    for name, seed in (("a.mp4", 11), ("b.mp4", 11), ("c.mp4", 12)):
        write_trailer(tmp_path / name, genres, TINY, np.random.default_rng(seed))
    a, b, c = (_decode_video(tmp_path / n) for n in ("a.mp4", "b.mp4", "c.mp4"))
    np.testing.assert_array_equal(a, b)
    assert a.shape == c.shape and not np.array_equal(a, c)


def test_genres_shape_the_picture(tmp_path: Path) -> None:
    """Comedy is bright, Horror dark: the kind of cue a model can learn."""
    means = {}
    for genre in ("Comedy", "Horror"):
        values = []
        for seed in range(3):
            path = tmp_path / f"{genre}{seed}.mp4"
            write_trailer(path, _one_hot(genre), TINY, np.random.default_rng(seed))
            values.append(_decode_video(path).mean())
        means[genre] = float(np.mean(values))
    assert means["Comedy"] > means["Horror"] + 40


def test_sample_labels_deterministic_per_seed() -> None:
    ids, splits, labels = sample_labels(300, seed=5)
    again = sample_labels(300, seed=5)
    other = sample_labels(300, seed=6)
    for x, y in zip((ids, splits, labels), again, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(labels, other[2])
    assert not np.array_equal(splits, other[1])
    assert ids.dtype == np.int64 and splits.dtype == np.int8 and labels.dtype == np.uint8
    np.testing.assert_array_equal(ids, np.arange(1, 301))
    assert labels.shape == (300, 9)


def test_sample_labels_follow_lmtd9_proportions() -> None:
    _, splits, labels = sample_labels(LMTD_TRAILERS, seed=7)
    genre_share = labels.mean(axis=0)
    np.testing.assert_allclose(genre_share, np.array(LMTD_GENRE_COUNTS) / LMTD_TRAILERS, atol=0.01)
    per_trailer = np.bincount(labels.sum(axis=1), minlength=4) / LMTD_TRAILERS
    assert per_trailer[0] == 0
    np.testing.assert_allclose(
        per_trailer[1:], np.array(LMTD_GENRES_PER_TRAILER) / LMTD_TRAILERS, atol=0.01
    )
    np.testing.assert_array_equal(np.bincount(splits, minlength=3), LMTD_SPLIT_SIZES)
    # Stratified: each split's genre shares stay near the overall shares.
    for s in range(3):
        np.testing.assert_allclose(labels[splits == s].mean(axis=0), genre_share, atol=0.03)


@pytest.mark.parametrize("seed", [7, 0, 1])
def test_small_data_set_has_every_genre_in_every_split(seed: int) -> None:
    _, splits, labels = sample_labels(240, seed=seed)
    per_split = np.stack([labels[splits == s].sum(axis=0) for s in range(3)])
    assert per_split.min() >= 3, per_split
    assert np.bincount(splits).tolist() == [172, 22, 46]


def test_generate_writes_trailers_and_lmtd_db(tmp_path: Path, capsys) -> None:
    videos, db = tmp_path / "videos", tmp_path / "labels" / "database.db"
    paths = generate(videos, db, TINY, progress=True)
    assert [p.name for p in paths] == ["000001.mp4", "000002.mp4", "000003.mp4", "000004.mp4"]
    assert sorted(p.name for p in videos.iterdir()) == [p.name for p in paths]
    ids, splits, labels = sample_labels(TINY.count, TINY.seed)
    frame = read_labels(db)
    assert list(frame["trailer_id"]) == [f"{i:06d}" for i in ids]
    assert list(frame["split"]) == [("train", "valid", "test")[s] for s in splits]
    np.testing.assert_array_equal(frame[list(GENRES_9)].to_numpy(), labels)
    assert read_titles(db)["000003"] == "Synthetic trailer 000003"
    assert "4/4 trailers" in capsys.readouterr().err
    first = [p.read_bytes() for p in paths]
    again = generate(tmp_path / "again", tmp_path / "again.db", TINY, progress=False)
    assert [p.read_bytes() for p in again] == first  # same config, byte-identical files
    assert capsys.readouterr().err == ""


def test_config_rejects_sizes_h264_cannot_take() -> None:
    with pytest.raises(ValueError, match="even"):
        SynthConfig(width=63)
    with pytest.raises(ValueError, match="count"):
        SynthConfig(count=0)
