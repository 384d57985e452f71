"""TensorFlow is quiet on a machine without a GPU (runtime.configure_tensorflow).

Without TF_CPP_MIN_LOG_LEVEL (a user's plain shell), a process that configures TensorFlow
and runs a model writes none of TensorFlow's start-up notices (the ``cuInit`` / CUDA
error, oneDNN, CPU instructions, absl) to stderr, while any other line written to the
same file descriptor meanwhile still shows. End to end: `dvc repro -f train@cnn1d-0`
prints no ``cuInit`` or ``CUDA error`` line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tool_env

from moviegenre.runtime import is_noise, nvidia_driver_present

NOISE = ("cuInit", "CUDA error", "oneDNN", "absl::InitializeLog", "cpu_feature_guard")

SCRIPT = """
import os
from moviegenre.runtime import configure_tensorflow, filtered_stderr
with filtered_stderr(gpu_machine=False):
    os.write(2, b"a real problem, kept\\n")
print("gpus:", configure_tensorflow(threads=1), flush=True)
import keras, numpy as np
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
print(model.predict_on_batch(np.zeros((1, 3), "float32")).shape, flush=True)
"""


def _plain_env() -> dict[str, str]:
    env = tool_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as in a user's shell
    return env


@pytest.mark.skipif(nvidia_driver_present(), reason="checks a machine without a GPU")
def test_no_startup_notices_on_a_cpu_machine(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=_plain_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gpus: []" in result.stdout and "(1, 2)" in result.stdout
    assert "a real problem, kept" in result.stderr
    for word in NOISE:
        assert word not in result.stderr, result.stderr


def test_what_counts_as_noise() -> None:
    cuinit = "E0000 00:00:1 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error"
    assert is_noise(cuinit, gpu_machine=False)
    assert not is_noise(cuinit, gpu_machine=True)  # with a driver it is a real problem
    assert is_noise("I0000 port.cc:153] oneDNN custom operations are on.", gpu_machine=True)
    assert not is_noise("Traceback (most recent call last):", gpu_machine=False)
    assert not is_noise("W0000 ... OP_REQUIRES failed: out of memory", gpu_machine=False)


@pytest.mark.slow
@pytest.mark.skipif(nvidia_driver_present(), reason="checks a machine without a GPU")
def test_dvc_repro_of_a_training_stage_prints_no_cuda_error(
    trained_repo: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    result = subprocess.run(
        ["dvc", "repro", "-f", "train@cnn1d-0"],
        cwd=repo,
        env=_plain_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "train@cnn1d-0" in output
    assert "cuInit" not in output and "CUDA error" not in output, output
