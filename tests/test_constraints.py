"""constraints.txt pins every dependency pyproject.toml declares, within its range.

`make setup` installs with `-c constraints.txt`, so the exact versions behind the README's
numbers come back in a fresh clone; a dependency without a pin would float.
"""

from __future__ import annotations

import re

import tomllib
from helpers import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

# The gpu extra's CUDA wheels are not installed where the constraints are made (no GPU);
# `tensorflow` itself is pinned through the main dependencies.
UNPINNED_EXTRAS = {"gpu"}


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line)
        assert match, f"constraints.txt: {line!r} is not NAME==VERSION"
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def _declared() -> list[tuple[str, Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [("dependencies", Requirement(r)) for r in project["dependencies"]]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        if extra not in UNPINNED_EXTRAS:
            declared += [(f"extra {extra}", Requirement(r)) for r in requirements]
    # An extra that names the project itself (e.g. "moviegenre[slurm]") pins nothing.
    return [(where, r) for where, r in declared if canonicalize_name(r.name) != "moviegenre"]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    problems = []
    for where, requirement in _declared():
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} ({where}) has no pin in constraints.txt")
        elif not requirement.specifier.contains(pin, prereleases=True):
            problems.append(f"{requirement} ({where}): constraints.txt pins {pin}")
    assert not problems, "\n".join(problems)


def test_make_setup_installs_with_the_constraints() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"pip install .*-c constraints\.txt -e \"\.\[dev", makefile), makefile
