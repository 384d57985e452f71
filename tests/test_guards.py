"""Guard checks: each breaking change in tests/guards/ must make its named tests fail.

A guard is a small unified diff against the current tree, with a header naming the tests
that catch it::

    # guard: what the change breaks, in words
    # must-fail: tests/test_x.py::test_y
    # must-fail: tests/test_x.py::test_z[param]
    diff --git a/src/... b/src/...

Each patch is applied to a fresh copy of the repository's source files, and only its named
tests run there, importing the copy's own `src` (PYTHONPATH first on sys.path, ahead of
the editable install). Every named test must report a failure: one that passes, errors
instead, or is not collected means the guard has been weakened. A patch that no longer
applies fails here too, so an edit of the guarded code must come with its guard's update.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import REPO, source_files, tool_env

GUARDS = sorted((REPO / "tests" / "guards").glob("*.patch"))
# One guard per rule of the rule-enforcing modules (issue 24; tests/guards/slow/): too many
# for the fast suite at about 1.5 s of CPU each, so they run with the slow tests.
SLOW_GUARDS = sorted((REPO / "tests" / "guards" / "slow").glob("*.patch"))


def parse_header(patch: Path) -> tuple[str, list[str]]:
    """(what the guard breaks, the test ids that must fail on it)."""
    what, tests = "", []
    for line in patch.read_text().splitlines():
        if line.startswith("# guard:"):
            what = line.split(":", 1)[1].strip()
        elif line.startswith("# must-fail:"):
            tests.append(line.split(":", 1)[1].strip())
        elif line.startswith(("diff ", "--- ")):
            break
    return what, tests


def copy_sources(dest: Path) -> Path:
    """A plain copy of the files a clone would have (no outputs, no git, no DVC)."""
    for name in source_files(REPO):
        path = REPO / name
        if path.is_symlink() or not path.is_file():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest


def copy_env(copy: Path) -> dict[str, str]:
    """tool_env, with the copy's `src` ahead of the editable install on sys.path."""
    env = tool_env()
    env["PYTHONPATH"] = str(copy / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def junit_outcomes(report: Path) -> dict[str, str]:
    """Test id (file::name[param]) -> passed / failed / error / skipped, from a JUnit file."""
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        test_id = f"{module}::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcome = "passed"
        for tag in ("error", "failure", "skipped"):
            if tag in kinds:
                outcome = {"failure": "failed"}.get(tag, tag)
                break
        outcomes[test_id] = outcome
    return outcomes


def apply_guard(patch: Path, copy: Path) -> None:
    """Apply a guard to a copy; one that no longer applies is an error, never a skip."""
    applied = subprocess.run(
        ["git", "apply", "--verbose", str(patch)], cwd=copy, capture_output=True, text=True
    )
    if applied.returncode != 0:
        raise AssertionError(
            f"{patch.name} no longer applies to the tree: update the guard with the code it "
            f"guards ({parse_header(patch)[0]}).\n{applied.stderr}"
        )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = copy_sources(tmp_path_factory.mktemp("guards") / "pristine")
    # its own (empty) git repo, so `git apply` resolves paths from the copy's root wherever
    # the temporary folder lies
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    return copy


def test_every_guard_names_tests_and_a_change() -> None:
    assert len(GUARDS) >= 8, GUARDS
    for patch in [*GUARDS, *SLOW_GUARDS]:
        what, tests = parse_header(patch)
        assert what and tests, f"{patch.name}: needs '# guard:' and '# must-fail:' lines"
        assert "\n+++ b/" in patch.read_text(), f"{patch.name}: not a unified diff"


def test_copies_import_their_own_source(pristine: Path, tmp_path: Path) -> None:
    """Without this, every guard would test the unpatched editable install."""
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy)
    code = "import moviegenre, sys; print(moviegenre.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=copy, env=copy_env(copy), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(copy / "src"), out.stdout


def test_a_stale_guard_fails_loudly(pristine: Path, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy)
    text = GUARDS[0].read_text()
    stale = tmp_path / "stale.patch"
    removed = next(line for line in text.splitlines() if line.startswith("-    "))
    stale.write_text(text.replace(removed, removed + "  # code that changed since"))
    with pytest.raises(AssertionError, match="no longer applies"):
        apply_guard(stale, copy)


@pytest.mark.parametrize(
    "patch",
    [*GUARDS, *(pytest.param(p, marks=pytest.mark.slow) for p in SLOW_GUARDS)],
    ids=[p.stem for p in [*GUARDS, *SLOW_GUARDS]],
)
def test_guard_is_caught_by_its_tests(patch: Path, pristine: Path, tmp_path: Path) -> None:
    what, tests = parse_header(patch)
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy)
    apply_guard(patch, copy)
    report = tmp_path / "junit.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_family=xunit1",
        f"--junitxml={report}",
        *tests,
    ]
    result = subprocess.run(
        cmd, cwd=copy, env=copy_env(copy), capture_output=True, text=True, timeout=600
    )
    outcomes = junit_outcomes(report) if report.exists() else {}
    survived = {t: outcomes.get(t, "not run") for t in tests if outcomes.get(t) != "failed"}
    assert not survived, (
        f"guard {patch.name} ({what}): these tests did not fail on it: {survived}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    )
    assert result.returncode == 1, result.stdout[-3000:]
