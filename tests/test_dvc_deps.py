"""Every moviegenre module a DVC stage's code can run is among the stage's deps.

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


PIPELINE = "src/moviegenre/pipeline"

# The features stage runs `snakemake`: its code is the rule scripts and what the rule
# files import (plain import lines in .smk files, read as Python).
FEATURE_SCRIPTS = (
    "scripts/extract_audio_shard.py",
    "scripts/extract_visual_shard.py",
    "scripts/extraction_report.py",
)


def _smk_import_lines(folder: Path) -> Path:
    """The moviegenre import lines of the Snakefile and rule files, as one Python file."""
    lines = []
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        lines.append(_python_part(path.read_text()))
    out = folder / "smk_imports.py"
    out.write_text("\n".join(lines) + "\n")
    return out


def _python_part(text: str) -> str:
    """The top-level import statements of a Snakemake file (the rest is not Python)."""
    return "\n".join(
        line for line in text.splitlines() if re.match(r"(from|import) moviegenre", line)
    )


def _stages() -> list[tuple[str, list[str], list[str]]]:
    """(stage, entry files, deps): `python -m moviegenre.pipeline.X` stages and features."""
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    out = []
    for name, stage in dvc["stages"].items():
        body = stage.get("do", stage)
        deps = [str(d) for d in body.get("deps", [])]
        match = re.match(r"python -m moviegenre\.pipeline\.(\w+)", body["cmd"])
        if match:
            out.append((name, [f"{PIPELINE}/{match.group(1)}.py"], deps))
        elif body["cmd"].split()[0] == "snakemake":
            out.append((name, list(FEATURE_SCRIPTS), deps))
    return out


STAGES = _stages()


def test_the_stages_are_found() -> None:
    names = {name for name, _, _ in STAGES}
    assert {
        "synth",
        "features",
        "dataset",
        "folds",
        "train",
        "oof",
        "audio_svm",
        "fuse",
        "evaluate",
        "bundle",
    } <= names


def test_every_stage_starts_in_its_pipeline_module() -> None:
    """Each DVC stage but features (snakemake) is `python -m moviegenre.pipeline.<stage>`."""
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    for name, stage in dvc["stages"].items():
        cmd = stage.get("do", stage)["cmd"]
        if name != "features":
            assert cmd.startswith(f"python -m moviegenre.pipeline.{name}"), (name, cmd)
            assert (REPO / PIPELINE / f"{name}.py").is_file(), name


@pytest.mark.parametrize(("stage", "entries", "deps"), STAGES, ids=[s[0] for s in STAGES])
def test_a_stage_lists_every_module_it_runs(
    stage: str, entries: list[str], deps: list[str], tmp_path: Path
) -> None:
    listed = [REPO / d for d in deps]
    for entry in entries:
        assert entry in deps, f"{stage}: its own code {entry} is not a dep"
    found: set[Path] = set()
    for entry in entries:
        found |= modules_run_by(REPO / entry)
    if stage == "features":
        found |= modules_run_by(_smk_import_lines(tmp_path))
    missing = sorted(
        str(module.relative_to(REPO))
        for module in found
        if not any(module == dep or dep in module.parents for dep in listed)
    )
    assert not missing, f"dvc.yaml stage {stage} runs modules it does not list: {missing}"


def test_the_import_walk_follows_function_level_imports() -> None:
    """pipeline/folds.py imports moviegenre.dataset inside its function."""
    found = modules_run_by(SRC / "moviegenre/pipeline/folds.py")
    assert SRC / "moviegenre/dataset.py" in found
    assert SRC / "moviegenre/features/shards.py" in found  # through dataset.py
