"""`moviegenre predict` never mixes two bundles while `dvc repro` rebuilds models/bundle.

DVC deletes models/bundle before the bundle stage rebuilds it, so the stage's own atomic
rename protects no reader: predict used to check the manifest's hashes when it opened the
bundle and read the model files 10-50 s later, and could score with one bundle's SVMs
under the other's thresholds. Here the real bundle stage rebuilds the bundle in a loop,
alternating two sets of tiny real models (Keras fold models, skops SVMs, thresholds),
while the real `moviegenre predict` runs again and again on it: every run must give
exactly one bundle's own prediction, or exit 2 with one line naming the bundle.

A free-running race hits the dangerous moment only by chance, so one run is also made to
hit it: predict is stopped (SIGSTOP) right after it opened the bundle, the bundle is
rebuilt with the other models, and predict continues (SIGCONT), as on a slow machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from bundles import (
    BUNDLE_GENRES,
    VARIANT_MODEL,
    VARIANT_PARAMS,
    fake_bundle,
    model_paths,
    write_variant,
)
from helpers import BIN, copy_repo, run, tool_env
from media import write_test_video

PREDICTS = 2
#: what predict logs after it has read the manifest and before it loads any model file
OPENED = "has weights 'none'"


def rebuild(repo: Path, sources: Path) -> None:
    """Put one variant's models and results in place, then the real stage, as a user runs it."""
    for part in ("models", "results"):
        shutil.copytree(sources / part, repo / part, dirs_exist_ok=True)
    run(["dvc", "repro", "-f", "-s", "bundle"], repo, timeout=300)


def predict(repo: Path, bundle: str, video: Path, out: Path) -> subprocess.CompletedProcess:
    out.unlink(missing_ok=True)
    argv = [str(BIN / "moviegenre"), "predict", "--bundle", bundle, "--model", VARIANT_MODEL]
    argv += ["--format", "json", "--output", str(out), str(video)]
    return subprocess.run(
        argv, cwd=repo, env=tool_env(), capture_output=True, text=True, timeout=300
    )


def predict_with_rebuild_in_between(
    repo: Path, video: Path, out: Path, sources: Path
) -> tuple[int, str]:
    """predict, stopped once it has opened the bundle while `sources` are built into it."""
    argv = [str(BIN / "moviegenre"), "predict", "--bundle", "models/bundle"]
    argv += ["--model", VARIANT_MODEL, "--format", "json", "--output", str(out), str(video)]
    child = subprocess.Popen(
        argv, cwd=repo, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seen = []
    try:
        for line in child.stderr:
            seen.append(line)
            if OPENED in line:
                os.kill(child.pid, signal.SIGSTOP)
                try:
                    rebuild(repo, sources)
                finally:
                    os.kill(child.pid, signal.SIGCONT)
                break
        seen.append(child.stderr.read())
        return child.wait(timeout=300), "".join(seen)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def check(code: int, stderr: str, out: Path, expected: list) -> None:
    """One bundle's own thresholds and probabilities, or exit 2 with one line naming it."""
    if code == 0:
        thresholds, probabilities = outcome(out)
        (v,) = [v for v in (0, 1) if expected[v][0] == thresholds]
        np.testing.assert_allclose(probabilities, expected[v][1], atol=1e-5)
        return
    assert code == 2, stderr[-3000:]
    assert "Traceback" not in stderr
    lines = [x for x in stderr.splitlines() if x.startswith("moviegenre predict:")]
    assert len(lines) == 1 and "models/bundle" in lines[0], stderr[-3000:]
    assert not out.exists()


def outcome(out: Path) -> tuple[dict[str, float], list[float]]:
    """(thresholds, probabilities) of the one trailer predicted."""
    payload = json.loads(out.read_text())
    (trailer,) = payload["trailers"]
    assert trailer["status"] == "ok", trailer
    return payload["thresholds"], [trailer["probabilities"][g] for g in BUNDLE_GENRES]


def test_files_are_checked_against_the_manifest_opened(tmp_path: Path) -> None:
    """Fast: the private copies hold the manifest's bytes; a file replaced or removed
    after the bundle was opened is BundleChanged naming the bundle, never read."""
    from moviegenre.bundle import BundleChanged, load_bundle

    bundle = load_bundle(fake_bundle(tmp_path / "bundle"), verify_hashes=False)
    with bundle.verified_files("fusion_gru") as (copy,):
        assert copy.read_bytes() == model_paths(bundle, "fusion_gru")[0].read_bytes()
        assert copy.parent != bundle.directory / "svm"
    assert not copy.exists()  # deleted once loaded
    model_paths(bundle, "fusion_gru")[0].write_bytes(b"the other bundle's SVMs")
    with pytest.raises(BundleChanged, match=rf"^{bundle.directory}: the bundle changed .*differs"):
        with bundle.verified_files("fusion_gru"):
            pass
    model_paths(bundle, "gru")[0].unlink()
    with pytest.raises(BundleChanged, match=r"models/gru\.keras is gone"):
        with bundle.verified_files("gru"):
            pass


@pytest.mark.slow
def test_predict_during_rebuilds_uses_one_bundle(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo", VARIANT_PARAMS)
    variants = [tmp_path / f"variant-{v}" for v in (0, 1)]
    for v, root in enumerate(variants):
        write_variant(root, v)
    video = write_test_video(tmp_path / "trailer.mp4", 8.0)

    # each bundle's own prediction, from a copy no rebuild touches
    expected = []
    for v, root in enumerate(variants):
        rebuild(repo, root)
        snapshot = shutil.copytree(repo / "models" / "bundle", tmp_path / f"bundle-{v}")
        result = predict(repo, str(snapshot), video, tmp_path / f"expected-{v}.json")
        assert result.returncode == 0, result.stderr[-3000:]
        expected.append(outcome(tmp_path / f"expected-{v}.json"))
    assert expected[0][0] != expected[1][0]
    assert not np.allclose(expected[0][1], expected[1][1], atol=1e-3)

    # the bundle (variant 1 now) replaced by variant 0 after predict opened it
    paused = tmp_path / "paused.json"
    code, stderr = predict_with_rebuild_in_between(repo, video, paused, variants[0])
    assert OPENED in stderr, stderr[-3000:]
    check(code, stderr, paused, expected)
    assert code == 2 and "the bundle changed while this run read it" in stderr, stderr[-3000:]

    stop = threading.Event()
    rebuilds: list[int] = []
    failures: list[BaseException] = []

    def rebuild_loop() -> None:
        try:
            while not stop.is_set():
                rebuild(repo, variants[len(rebuilds) % 2])
                rebuilds.append(1)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    loop = threading.Thread(target=rebuild_loop)
    loop.start()
    results = []
    try:
        for k in range(PREDICTS):
            out = tmp_path / f"run-{k}.json"
            results.append((predict(repo, "models/bundle", video, out), out))
    finally:
        stop.set()
        loop.join()
    assert not failures, failures
    assert len(rebuilds) >= 2, "the bundle was not rebuilt while predict ran"

    codes = []
    for result, out in results:
        codes.append(result.returncode)
        check(result.returncode, result.stderr, out, expected)
    print(f"predict exit codes during {len(rebuilds)} rebuilds: {codes}")
