"""Shared by the benchmarks: interleaved timing, results, the summary table.

The machine these run on is shared and noisy, so no benchmark trusts an absolute time:
alternatives are timed side by side in one process, interleaved (A, B, A, B, ...), and
compared by the ratio of their medians.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"

# Silence TensorFlow's C++ start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SUMMARY_HEADER = "BENCHMARK SUMMARY"


@dataclass
class Result:
    """One line of the summary: a ratio (kind 'ratio', unit 'x') or a plain figure."""

    bench: str
    measure: str
    value: float
    unit: str = "x"
    kind: str = "ratio"  # ratio | figure
    note: str = ""


def ratio(bench: str, measure: str, value: float, note: str = "") -> Result:
    return Result(bench, measure, float(value), "x", "ratio", note)


def figure(bench: str, measure: str, value: float, unit: str, note: str = "") -> Result:
    return Result(bench, measure, float(value), unit, "figure", note)


def import_test_media():
    """tests/media.py (write_test_video): the tests' synthetic videos, reused here."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import media

    return media


def interleaved(
    cases: Sequence[tuple[str, Callable[[], object]]], repeats: int, label: str = ""
) -> dict[str, list[float]]:
    """Time each case ``repeats`` times, alternating A, B, A, B...; print every run.

    Returns name -> list of seconds. The order within a round is rotated every round so
    that no case is always the one that runs right after the other.
    """
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for r in range(repeats):
        shift = r % len(cases)
        for name, fn in list(cases[shift:]) + list(cases[:shift]):
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            print(f"  {label}run {r + 1} {name:28s} {elapsed:8.3f} s", flush=True)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def format_value(result: Result) -> str:
    if result.kind == "ratio":
        return f"{result.value:.2f}x"
    if abs(result.value) >= 100:
        text = f"{result.value:,.0f}"
    else:
        text = f"{result.value:.3g}"
        if "e" in text:  # no exponent: the table stays easy to read and to parse
            text = f"{result.value:.6f}"
    return f"{text} {result.unit}".rstrip()


def print_table(results: Sequence[Result], title: str = SUMMARY_HEADER) -> None:
    """The summary: one row per result; ratios end in 'x', figures carry their unit."""
    rows = [(r.bench, r.kind, r.measure, format_value(r), r.note) for r in results]
    heads = ("benchmark", "kind", "measure", "value", "note")
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(heads[:4])]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(heads[:4], widths, strict=True))
    print(f"\n=== {title} ===")
    print(f"{line}  {heads[4]}")
    print("-" * (len(line) + 6))
    for row in rows:
        cells = [f"{row[0]:<{widths[0]}}", f"{row[1]:<{widths[1]}}", f"{row[2]:<{widths[2]}}"]
        cells.append(f"{row[3]:>{widths[3]}}")
        print("  ".join(cells) + (f"  {row[4]}" if row[4] else ""))
    print(flush=True)
