"""`moviegenre predict` refusals (issue 12): exit 2 with one line, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundles import fake_bundle
from helpers import run
from media import write_text_file


@pytest.mark.parametrize(("model", "file"), [("audio", "svm/audio.skops"), ("gru", "gru.keras")])
def test_model_file_that_does_not_load_is_exit_2_in_one_line(
    tmp_path: Path, model: str, file: str
) -> None:
    """fake_bundle's model files have the right hashes but are not models."""
    bundle = fake_bundle(tmp_path / "bundle")
    video = write_text_file(tmp_path / "clip.mp4")
    cmd = ["moviegenre", "predict", "--bundle", str(bundle), "--model", model, str(video)]
    result = run(cmd, tmp_path, check=False, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("moviegenre predict: ") and f"model {model} cannot be loaded" in last
    assert file in last
    assert result.stdout == ""


def test_output_that_is_a_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    """Checked first: not even the bundle is read (here there is none)."""
    out = tmp_path / "out"
    out.mkdir()
    video = write_text_file(tmp_path / "clip.mp4")
    cmd = ["moviegenre", "predict", "--bundle", str(tmp_path / "absent"), "--output", str(out)]
    result = run([*cmd, str(video)], tmp_path, check=False, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"moviegenre predict: --output {out} is a folder; give a file name"
    ]
    assert list(out.iterdir()) == []
