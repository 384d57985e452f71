"""Seeded fuzzing of the LMTD feature-pickle loader (issue 12).

Valid LMTD-style pickles (Python 2 cPickle style, Python 3 protocols 2 and 4, empty arrays)
are mutated by opcode insertions, opcode deletions, byte flips and chunk copies. A child
process (this file run as a script) loads a batch of cases with ``load_feature_pickle`` and
reports each one; the parent checks that no case kills the child by a signal, runs past
the time limit, raises anything but the loader's two refusal errors, yields an array that
is not numeric, or writes any file. A crash or hang is pinned to the case that was running
(the child announces each case before loading it), and the batch resumes after it.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SEED = 20261124
N_CASES = 30000
CASE_LIMIT_S = 5.0  # one case; the whole batch is bounded by a subprocess timeout too
MEMORY_LIMIT = 2 << 30  # address space of the child: a claimed huge shape must not allocate

# One-byte opcodes plus the argument bytes to insert after them (random otherwise).
_OPCODES = [op for op in pickletools.opcodes]


def _seeds(folder: Path) -> list[bytes]:
    """Valid pickles of the shapes the loader meets, small so mutations hit structure."""
    from lmtd_fixtures import write_lmtd_style_pickle

    rng = np.random.default_rng(SEED)
    arrays = {
        "000002": rng.random((2, 8), dtype=np.float32),
        "000017": rng.random((3, 4)).astype(np.float64),
        "000123": np.zeros((0, 8), np.float32),
        "000250": np.arange(6, dtype=np.int16).reshape(3, 2),
    }
    seeds = []
    path = folder / "seed.pickle"
    write_lmtd_style_pickle(path, arrays)
    seeds.append(path.read_bytes())
    path.unlink()
    for protocol in (2, 4):
        seeds.append(pickle.dumps(arrays, protocol=protocol))
        seeds.append(pickle.dumps({k.encode(): v for k, v in arrays.items()}, protocol=protocol))
    return seeds


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four mutations: insert an opcode, delete an opcode, flip bytes, copy a chunk."""
    starts = [pos for _, _, pos in pickletools.genops(data)] if rng.random() < 0.9 else []
    starts = starts or [0]
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        at = min(rng.choice(starts), len(out))
        if kind < 0.3:  # opcode insertion, with a plausible or random argument
            op = rng.choice(_OPCODES)
            arg = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 4, 8])))
            if rng.random() < 0.3:
                arg = rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xff" * 8, b"\x00"])
            out[at:at] = op.code.encode("latin1") + arg
        elif kind < 0.55:  # opcode deletion (up to the next opcode's start, or a few bytes)
            later = [s for s in starts if s > at]
            end = min(later) if later and rng.random() < 0.8 else at + rng.randint(1, 8)
            del out[at:end]
        elif kind < 0.9:  # byte flips
            for _ in range(rng.randint(1, 3)):
                if out:
                    i = rng.randrange(len(out))
                    out[i] = (
                        rng.randrange(256) if rng.random() < 0.5 else out[i] ^ 1 << rng.randrange(8)
                    )
        else:  # copy a chunk somewhere else (duplicated entries, repeated MARKs, ...)
            if out:
                i = rng.randrange(len(out))
                chunk = out[i : i + rng.randint(1, 64)]
                out[at:at] = chunk * rng.choice([1, 2, 50])
        starts = [s for s in starts if s <= len(out)] or [0]
    return bytes(out)


def _cases(folder: Path) -> list[Path]:
    rng = random.Random(SEED)
    seeds = _seeds(folder)
    paths = []
    for i in range(N_CASES):
        path = folder / f"case-{i:05d}.pickle"
        path.write_bytes(_mutate(seeds[i % len(seeds)], rng))
        paths.append(path)
    return paths


def _run_batch(cases: Path, start: int, sandbox: Path, timeout: float) -> tuple[int, list[str]]:
    """The child's return code (or None on a timeout) and its output lines."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HOME=str(sandbox), TMPDIR=str(sandbox))
    try:
        done = subprocess.run(
            [sys.executable, __file__, str(cases), str(start)],
            cwd=sandbox,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done.returncode, done.stdout.splitlines()
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return None, out.splitlines()


def test_mutated_pickles_never_crash_hang_or_write(tmp_path: Path) -> None:
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    cases = _cases(cases_dir)
    before = sorted(p.name for p in cases_dir.iterdir())
    results: dict[int, str] = {}
    failures: list[str] = []
    started = time.monotonic()
    start = 0
    while start < len(cases):
        code, lines = _run_batch(cases_dir, start, sandbox, timeout=CASE_LIMIT_S + 120)
        running = None
        for line in lines:
            tag, index, *rest = line.split(" ", 2)
            if tag == "S":
                running = int(index)
            elif tag == "R":
                results[int(index)] = rest[0]
                running = None
        if code == 0 and running is None and len(results) == len(cases):
            break
        if running is None:  # died between cases, or before the first: a harness problem
            raise AssertionError(f"fuzz worker exited {code} outside a case: {lines[-3:]}")
        why = "timed out" if code is None else f"died with exit {code}"
        failures.append(f"case {running} ({cases[running].name}) {why}")
        results[running] = "crash"
        start = running + 1
    elapsed = time.monotonic() - started
    for index, outcome in sorted(results.items()):
        status, _, detail = outcome.partition(" ")
        if status not in ("ok", "refused", "crash"):
            failures.append(f"case {index}: {outcome}")
    counts = {s: sum(r.split(" ")[0] == s for r in results.values()) for s in ("ok", "refused")}
    print(f"pickle fuzz: {len(cases)} cases in {elapsed:.1f} s: {counts}")
    assert not failures, "\n".join(failures[:20])
    assert len(results) == len(cases)
    # Most mutations break the structure; enough still load to exercise the success path.
    assert counts["ok"] > len(cases) // 100 and counts["refused"] > len(cases) // 2, counts
    assert sorted(p.name for p in cases_dir.iterdir()) == before
    assert list(sandbox.iterdir()) == []


def _worker(cases: Path, start: int) -> None:
    """Load cases[start:] one by one; print "S i" before and "R i outcome" after each."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    from moviegenre.data.lmtd import FeaturePickleError, UnsafePickleError, load_feature_pickle

    paths = sorted(cases.glob("case-*.pickle"))
    for index in range(start, len(paths)):
        print(f"S {index}", flush=True)
        began = time.monotonic()
        try:
            loaded = load_feature_pickle(paths[index])
            bad = [
                k
                for k, v in loaded.items()
                if isinstance(v, np.ndarray) and (v.dtype.kind not in "biuf" or v.dtype.hasobject)
            ]
            outcome = f"bad-dtype {bad[:3]}" if bad else "ok"
            str(loaded)  # printing must be safe too (an object array's repr crashed)
        except (FeaturePickleError, UnsafePickleError) as exc:
            outcome = "refused" if "\n" not in str(exc) else "multi-line message"
        except BaseException as exc:  # noqa: BLE001 - any other escape is the finding
            outcome = f"escaped {type(exc).__name__}: {str(exc)[:120]}"
        took = time.monotonic() - began
        if took > CASE_LIMIT_S:
            outcome = f"slow {took:.1f}s"
        print(f"R {index} {outcome}", flush=True)


if __name__ == "__main__":
    _worker(Path(sys.argv[1]), int(sys.argv[2]))
