"""Every moviegenre module a DVC stage's script can run is among the stage's deps.

DVC reruns a stage when a listed dependency changes, and only then: a module the stage
imports (even inside a function) but does not list would change the results silently
while `dvc repro` says everything is up to date. Imports are followed statically through
the package, so the check needs no data and no run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"


def _module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """moviegenre modules imported anywhere in a file (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("moviegenre")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("moviegenre"):
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def modules_run_by(script: Path) -> set[Path]:
    """Files of the moviegenre modules reachable from a script, parent packages included."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        for name in _imports(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                module = _module_file(".".join(parts[:i]))
                if module is not None and module not in seen:
                    seen.add(module)
                    todo.append(module)
    return seen


def _stages() -> list[tuple[str, str, list[str]]]:
    """(stage, script, deps) for every stage whose command is `python scripts/X.py ...`."""
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    out = []
    for name, stage in dvc["stages"].items():
        body = stage.get("do", stage)
        match = re.match(r"python (scripts/\w+\.py)", body["cmd"])
        if match:
            out.append((name, match.group(1), [str(d) for d in body.get("deps", [])]))
    return out


STAGES = _stages()


def test_the_stages_are_found() -> None:
    names = {name for name, _, _ in STAGES}
    assert {"synth", "dataset", "folds", "train", "oof", "audio_svm", "fuse", "evaluate"} <= names


@pytest.mark.parametrize(("stage", "script", "deps"), STAGES, ids=[s[0] for s in STAGES])
def test_a_stage_lists_every_module_it_runs(stage: str, script: str, deps: list[str]) -> None:
    assert script in deps, f"{stage}: its own script {script} is not a dep"
    listed = [REPO / d for d in deps]
    missing = sorted(
        str(module.relative_to(REPO))
        for module in modules_run_by(REPO / script)
        if not any(module == dep or dep in module.parents for dep in listed)
    )
    assert not missing, f"dvc.yaml stage {stage} runs modules it does not list: {missing}"


def test_the_import_walk_follows_function_level_imports() -> None:
    """stages/stacking.py imports moviegenre.dataset inside its functions."""
    found = modules_run_by(SRC / "moviegenre/stages/stacking.py")
    assert SRC / "moviegenre/dataset.py" in found
    assert SRC / "moviegenre/features/shards.py" in found  # through dataset.py
