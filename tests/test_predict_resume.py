"""`moviegenre predict --output FILE` keeps what it has done (issue item 3).

Each trailer's row is written when it is scored, so a run killed with SIGKILL keeps the
trailers already finished; the same command run again skips them (rows of the first part
byte-identical) and predicts the rest; --redo starts afresh; a file made with another model
or bundle is refused in one line. Real tiny models (tests/bundles.py's write_variant),
a real bundle, real synthetic trailers and the real command in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from bundles import (
    BUNDLE_CONFIG,
    BUNDLE_GENRES,
    VARIANT_FRAMES,
    VARIANT_MODEL,
    build_bundle,
    sample_results,
)
from helpers import BIN, run, tool_env
from media import write_test_video

import moviegenre
from moviegenre.predict import CSV_FIXED, OutputFile, OutputMismatch

#: the subprocess runs the code this test imports (tool_env drops PYTHONPATH)
CODE = {"PYTHONPATH": str(Path(moviegenre.__file__).resolve().parents[1])}
N_TRAILERS = 8
PROB_TOL = 1e-6


def _build_bundle(root: Path, variant: int) -> Path:
    config = json.loads(json.dumps(BUNDLE_CONFIG))
    config["frames"] = VARIANT_FRAMES
    return build_bundle(root, config, variant)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("resume")
    bundles = [_build_bundle(root / f"variant-{v}", v) for v in (0, 1)]
    folder = root / "trailers"
    folder.mkdir()
    for i in range(N_TRAILERS):  # each trailer its own length and frame rate
        write_test_video(folder / f"t{i}.mp4", 7.0 + 0.5 * i, fps=6 + i % 3)
    reference = root / "reference.csv"
    result = run(predict_cmd(bundles[0], folder, reference), root, timeout=300, env=CODE)
    assert "skipped" not in result.stderr
    rows = read_rows(reference)
    assert len(rows) == N_TRAILERS and all(r["status"] == "ok" for r in rows.values())
    return {"root": root, "bundles": bundles, "folder": folder, "reference": rows}


def predict_cmd(bundle: Path, folder: Path, out: Path, *extra: str) -> list[str]:
    argv = [str(BIN / "moviegenre"), "predict", str(folder), "--bundle", str(bundle)]
    argv += ["--model", VARIANT_MODEL, "--format", "csv", "--output", str(out), "--threads", "1"]
    return [*argv, *extra]


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    """The rows of a predict CSV by file name; every row must have every column."""
    reader = csv.DictReader(io.StringIO(path.read_text()))
    assert reader.fieldnames == [*CSV_FIXED, *BUNDLE_GENRES]
    rows = {}
    for row in reader:
        assert None not in row and None not in row.values(), row  # a torn row
        rows[Path(row["path"]).name] = row
    return rows


def same_rows(got: dict[str, dict[str, str]], expected: dict[str, dict[str, str]]) -> None:
    assert set(got) == set(expected)
    for name, row in got.items():
        for column in CSV_FIXED:
            assert row[column] == expected[name][column], (name, column)
        probs = [float(row[g]) for g in BUNDLE_GENRES]
        want = [float(expected[name][g]) for g in BUNDLE_GENRES]
        np.testing.assert_allclose(probs, want, atol=PROB_TOL, err_msg=name)


def kill_after_first_rows(cmd: list[str], cwd: Path, out: Path) -> None:
    """Start the command; SIGKILL it as soon as --output holds a whole row."""
    child = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**tool_env(), **CODE},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and child.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 2:  # header + a row
                break
            time.sleep(0.01)
        still_running = child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stderr = child.stderr.read()
    assert still_running, f"predict finished before a row appeared:\n{stderr[-3000:]}"
    assert child.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_killed_run_keeps_its_rows_and_the_rerun_does_the_rest(setup: dict) -> None:
    root, folder, reference = setup["root"], setup["folder"], setup["reference"]
    bundle, other_bundle = setup["bundles"]
    out = root / "out.csv"
    cmd = predict_cmd(bundle, folder, out)

    # (a) SIGKILL after the first rows: what is there parses and is the uninterrupted run's
    kill_after_first_rows(cmd, root, out)
    kept = read_rows(out)
    assert 1 <= len(kept) < N_TRAILERS, f"{len(kept)} rows kept of {N_TRAILERS}"
    same_rows(kept, {name: reference[name] for name in kept})
    first_part = out.read_bytes()
    # a torn last line (a write cut short) is dropped by the next run
    with out.open("ab") as f:
        f.write(first_part.splitlines(keepends=True)[-1][:25])

    result = run(cmd, root, timeout=300, env=CODE)
    assert f"skipped {len(kept)} files already in {out}" in result.stderr
    left = N_TRAILERS - len(kept)
    assert f"predicted {left} of {left} files" in result.stderr
    final = out.read_bytes()
    assert final.startswith(first_part)  # the first part untouched, byte for byte
    same_rows(read_rows(out), reference)

    # again: nothing left to do, the file stays as it is
    result = run(cmd, root, timeout=300, env=CODE)
    assert f"skipped {N_TRAILERS} files already in {out}" in result.stderr
    assert out.read_bytes() == final

    # (b) --redo predicts every file again: a spoiled recorded probability is kept by a
    # plain rerun (skipped) and recomputed by --redo
    spoiled = final.replace(kept_value(final, 1), b"0.123456789", 1)
    out.write_bytes(spoiled)
    run(cmd, root, timeout=300, env=CODE)
    assert out.read_bytes() == spoiled
    result = run([*cmd, "--redo"], root, timeout=300, env=CODE)
    assert "skipped" not in result.stderr
    assert f"predicted {N_TRAILERS} of {N_TRAILERS} files" in result.stderr
    same_rows(read_rows(out), reference)
    redone = out.read_bytes()

    # (c) another model or another bundle on this file: refused in one line, file untouched
    for refused in (
        [*cmd[: cmd.index("--model") + 1], "gru", *cmd[cmd.index("--model") + 2 :]],
        predict_cmd(other_bundle, folder, out),
    ):
        result = run(refused, root, check=False, timeout=300, env=CODE)
        assert result.returncode == 2, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        lines = [x for x in result.stderr.splitlines() if x.startswith("moviegenre predict:")]
        assert len(lines) == 1 and f"--output {out}" in lines[0], result.stderr[-3000:]
        assert "--redo" in lines[0] and "another --output" in lines[0]
        assert out.read_bytes() == redone


def kept_value(data: bytes, row: int) -> bytes:
    """The first genre probability of a CSV row, as written."""
    fields = next(csv.reader([data.decode().splitlines()[row]]))
    return fields[len(CSV_FIXED)].encode()


# ---- every format resumes: the output file alone, no TensorFlow ------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "table", "json"])
def test_each_format_records_what_the_next_run_skips(tmp_path: Path, fmt: str) -> None:
    results, context = sample_results()
    context = {**context, "bundle_id": "0123456789abcdef"}
    out = tmp_path / f"out.{fmt}"
    first = OutputFile(out, fmt, context)
    first.read()
    first.open()
    for r in results[:2]:
        first.add(r)
    if fmt != "json":  # json is written at the end (or every JSON_EVERY): killed here
        second = OutputFile(out, fmt, context)
        second.read()
        assert second.skips("a/1.mp4") == (True, False)
        assert second.skips("a/2.mp4") == (True, True)
    first.close({"files": 2, "predicted": 2, "failed": 0, "audio_missing": 1})
    with out.open("ab") as f:
        f.write(b"a/3.mp4,tor" if fmt != "json" else b"")  # a torn last line

    resumed = OutputFile(out, fmt, context)
    resumed.read()
    assert resumed.skips("a/1.mp4") == (True, False) and resumed.skips("a/3.mp4") is None
    resumed.open()
    resumed.add(results[2])
    resumed.close({"files": 3, "predicted": 2, "failed": 1, "audio_missing": 1})
    last = OutputFile(out, fmt, context)
    last.read()
    assert [last.skips(f"a/{i}.mp4") for i in (1, 2, 3)] == [
        (True, False),
        (True, True),
        (False, False),
    ]
    if fmt == "jsonl":
        assert [json.loads(x)["path"] for x in out.read_text().splitlines()] == [
            "a/1.mp4",
            "a/2.mp4",
            "a/3.mp4",
        ]
    if fmt == "json":
        assert json.loads(out.read_text())["summary"]["files"] == 3

    for other in ({**context, "model": "gru"}, {**context, "bundle_id": "fedcba9876543210"}):
        with pytest.raises(OutputMismatch, match="use --redo"):
            OutputFile(out, fmt, other).read()
    redo = OutputFile(out, fmt, {**context, "model": "gru"}, redo=True)
    redo.read()
    redo.open()
    redo.close({"files": 0, "predicted": 0, "failed": 0, "audio_missing": 0})
    fresh = OutputFile(out, fmt, {**context, "model": "gru"})
    fresh.read()
    assert fresh.skips("a/1.mp4") is None
