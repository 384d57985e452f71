"""The conda environments in envs/ pin exactly what pyproject.toml pins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
import yaml
from helpers import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()


def project_requirements() -> dict[str, str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {_name(r): r.replace(" ", "") for r in pyproject["project"]["dependencies"]}


ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


def test_there_are_environments_for_the_rule_groups() -> None:
    assert {p.stem for p in ENV_FILES} >= {"audio", "vision", "train"}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.stem)
def test_env_pins_agree_with_pyproject(env_file: Path) -> None:
    env = yaml.safe_load(env_file.read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = project_requirements()
    checked = 0
    for requirement in pip_section:
        if requirement.startswith("-e"):
            continue
        name = _name(requirement)
        assert name in pinned, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
        assert requirement.replace(" ", "") == pinned[name], (
            f"{env_file.name}: {requirement!r} disagrees with pyproject's {pinned[name]!r}"
        )
        checked += 1
    assert checked >= 5
