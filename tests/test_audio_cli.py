"""`moviegenre audio-features` prints the values the pipeline's audio shards store."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import REPO, run
from media import write_test_video, write_text_file

from moviegenre.data.synth import SynthConfig, sample_labels, write_trailer
from moviegenre.features.audio import audio_feature_names
from moviegenre.features.extract import extract_audio_shard
from moviegenre.features.shards import read_audio_shard

CLI = [sys.executable, "-m", "moviegenre.cli"]


@pytest.fixture(scope="module")
def trailers(tmp_path_factory) -> dict[str, Path]:
    """Three of the project's synthetic trailers (44.1 kHz sound) and a stereo test clip."""
    folder = tmp_path_factory.mktemp("trailers")
    config = SynthConfig(count=3, duration_s=8.0, width=32, height=32, fps=4, sample_rate=44100)
    ids, _, labels = sample_labels(3, config.seed)
    paths = {}
    for trailer_id, genres in zip(ids, labels, strict=True):
        path = folder / f"{int(trailer_id):06d}.mp4"
        write_trailer(path, genres, config, np.random.default_rng([config.seed, int(trailer_id)]))
        paths[path.stem] = path
    stereo = write_test_video(folder / "stereo.mkv", 7.0, size=(32, 32), fps=4, channels=2)
    paths["stereo"] = stereo
    return paths


def _params(folder: Path, resampler: str) -> tuple[Path, dict]:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["audio"]["resampler"] = resampler
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path, params


@pytest.mark.parametrize("resampler", ["soxr_hq", "kaiser_best"])
def test_values_equal_the_pipeline_shard(trailers, tmp_path, resampler):
    params_path, params = _params(tmp_path, resampler)
    out = tmp_path / "shard-0000.parquet"
    extract_audio_shard(trailers, out, tmp_path / "s.csv", params["audio"], params["extraction"])
    ids, vectors, silent, _ = read_audio_shard(out)
    assert sorted(ids) == sorted(trailers)
    stored = dict(zip(ids, vectors, strict=True))
    files = [str(trailers[i]) for i in ids]

    result = run([*CLI, "--params", str(params_path), "audio-features", *files], cwd=tmp_path)
    payload = json.loads(result.stdout)
    assert payload["names"] == audio_feature_names()
    assert payload["audio"]["resampler"] == resampler
    for item, trailer_id in zip(payload["files"], ids, strict=True):
        assert item["path"] == str(trailers[trailer_id]) and item["status"] == "ok"
        values = np.array(item["values"], dtype=np.float32)
        np.testing.assert_array_equal(values, stored[trailer_id])  # bit for bit

    cmd = [*CLI, "--params", str(params_path), "audio-features", "--format", "csv", *files]
    rows = list(csv.DictReader(io.StringIO(run(cmd, cwd=tmp_path).stdout)))
    for row, trailer_id in zip(rows, ids, strict=True):
        values = np.array([row[n] for n in audio_feature_names()], dtype=np.float64)
        np.testing.assert_array_equal(values.astype(np.float32), stored[trailer_id])
        assert row["status"] == "ok" and row["reason"] == ""


def test_failures_are_reported_per_file_with_exit_codes(trailers, tmp_path):
    params_path, _ = _params(tmp_path, "soxr_hq")
    bad = write_text_file(tmp_path / "notes.mp4")
    noaudio = write_test_video(tmp_path / "mute.mp4", 7.0, size=(32, 32), fps=4, audio=False)
    good = trailers["stereo"]
    base = [*CLI, "--params", str(params_path), "audio-features"]
    result = run([*base, str(good), str(bad), str(noaudio), "missing.mp4"], tmp_path, check=False)
    assert result.returncode == 1, result.stderr
    by_path = {item["path"]: item for item in json.loads(result.stdout)["files"]}
    assert by_path[str(good)]["status"] == "ok"
    assert by_path[str(bad)]["reason"] == "unreadable"
    assert by_path[str(noaudio)]["reason"] == "no_audio_stream"
    assert by_path["missing.mp4"]["status"] == "failed"
    assert "notes.mp4: unreadable" in result.stderr
    assert run([*base, str(good)], tmp_path).returncode == 0
    assert run([*base, "--format", "xml", str(good)], tmp_path, check=False).returncode == 2
    broken = tmp_path / "broken.yaml"
    shutil.copy(params_path, broken)
    text = broken.read_text().replace("resampler: soxr_hq", "resampler: linear")
    broken.write_text(text)
    cmd = [*CLI, "--params", str(broken), "audio-features", str(good)]
    refused = run(cmd, tmp_path, check=False)
    assert refused.returncode == 2 and "resampler" in refused.stderr
