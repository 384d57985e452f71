"""The benchmarks still run: `benchmarks/run_all.py --quick` ends with its summary table.

No timing is asserted (the machine is shared and the quick sizes are too small to mean
anything); only that every benchmark ran and reported positive ratios and figures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers import REPO

pytestmark = pytest.mark.slow

RUN_ALL = REPO / "benchmarks" / "run_all.py"
ROW = re.compile(r"^(\S+)\s{2,}(ratio|figure)\s{2,}(.+?)\s{2,}([0-9][0-9,]*(?:\.[0-9]+)?)(x|\s\S+)")


def _summary_rows(output: str) -> list[tuple[str, str, str, float, str]]:
    """(benchmark, kind, measure, value, unit) for each row of the summary table."""
    _, _, table = output.partition("=== BENCHMARK SUMMARY")
    rows = []
    for line in table.splitlines():
        match = ROW.match(line)
        if match:
            bench, kind, measure, value, unit = match.groups()
            rows.append((bench, kind, measure.strip(), float(value.replace(",", "")), unit.strip()))
    return rows


def test_run_all_quick_prints_positive_ratios():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, str(RUN_ALL), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "=== BENCHMARK SUMMARY" in result.stdout, output[-6000:]
    rows = _summary_rows(result.stdout)
    assert rows, result.stdout[-4000:]

    ratios = {(bench, measure): value for bench, kind, measure, value, _ in rows if kind == "ratio"}
    for bench in ("decode", "shard", "inference", "overlap", "storage"):
        assert any(b == bench for b, _ in ratios), f"no ratio for {bench}:\n{result.stdout[-4000:]}"
    for (bench, measure), value in ratios.items():
        assert value > 0, f"{bench}: {measure} = {value}"

    figures = [(bench, measure, value, unit) for bench, kind, measure, value, unit in rows]
    jobs = [value for bench, measure, value, unit in figures if bench == "dag" and unit == "jobs"]
    assert jobs and jobs[0] > 0, result.stdout[-4000:]
    seconds = [v for bench, _, v, unit in figures if bench == "dag" and unit == "s"]
    assert seconds and all(v > 0 for v in seconds)


def test_gpu_check_exits_cleanly_without_a_gpu():
    """benchmarks/gpu_check.py on this CPU machine: smoke sizes, its table, exit status 0."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "no GPU visible to TensorFlow" in result.stdout, output[-4000:]
    rows = {measure: value for _, _, measure, value, _ in _summary_rows_of(result.stdout, "GPU")}
    network = [v for m, v in rows.items() if m.startswith("CPU resnet50 float32 batch 2")]
    job = [v for m, v in rows.items() if m.startswith("CPU shard job")]
    assert network and job and all(v > 0 for v in network + job), result.stdout[-4000:]
    assert rows.get("shard job / network alone (same settings)", 0) > 0
    assert "cuInit" not in output  # quiet on a CPU machine (runtime.configure_tensorflow)


def _summary_rows_of(output: str, title: str) -> list[tuple[str, str, str, float, str]]:
    """The rows of a table printed under ``=== <title>``."""
    return _summary_rows(output.replace(f"=== {title}", "=== BENCHMARK SUMMARY"))
