"""Each DVC stage lists exactly the moviegenre code its command runs (scripts/dvc_deps.py).

DVC reruns a stage when a listed dependency changes, and only then: a module the stage
imports (even inside a function) but does not list would change the results silently
while `dvc repro` says everything is up to date, and a module listed but never run reruns
the stage and everything after it for nothing (editing the Parquet writer retrained all
12 fold models before the data set's reader and builder were split). Imports are followed
statically through the package, so the check needs no data and no run; the two imports
made by name at run time are declared in the script and checked here.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO

SRC = REPO / "src"
PIPELINE = "src/moviegenre/pipeline"


def _load_script():
    spec = importlib.util.spec_from_file_location("dvc_deps", REPO / "scripts/dvc_deps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dvc_deps = _load_script()


def _stages() -> list[tuple[str, dict]]:
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    return list(dvc["stages"].items())


STAGES = _stages()
IDS = [name for name, _ in STAGES]


def _deps(stage: dict) -> list[str]:
    return [str(d) for d in stage.get("do", stage).get("deps", [])]


def test_the_stages_are_found() -> None:
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
    } <= set(IDS)


def test_every_stage_starts_in_its_pipeline_module() -> None:
    """Each DVC stage but features (snakemake) is `python -m moviegenre.pipeline.<stage>`."""
    for name, stage in STAGES:
        cmd = stage.get("do", stage)["cmd"]
        if name != "features":
            assert cmd.startswith(f"python -m moviegenre.pipeline.{name}"), (name, cmd)
            assert (REPO / PIPELINE / f"{name}.py").is_file(), name


@pytest.mark.parametrize(("stage", "body"), STAGES, ids=IDS)
def test_a_stage_lists_every_module_it_runs(stage: str, body: dict) -> None:
    deps = _deps(body)
    entries = dvc_deps.stage_entries(body.get("do", body))
    for entry in entries:
        if entry != dvc_deps.SNAKEMAKE_RULES:
            assert entry in deps, f"{stage}: its own code {entry} is not a dep"
    folders = [d + "/" for d in deps if (REPO / d).is_dir()]
    missing = [
        module
        for module in dvc_deps.code_deps(stage, body)
        if module not in deps and not any(module.startswith(f) for f in folders)
    ]
    assert not missing, f"dvc.yaml stage {stage} runs modules it does not list: {missing}"


@pytest.mark.parametrize(("stage", "body"), STAGES, ids=IDS)
def test_a_stage_lists_no_module_it_does_not_run(stage: str, body: dict) -> None:
    needed = set(dvc_deps.code_deps(stage, body))
    extra = [d for d in _deps(body) if dvc_deps._is_code(d) and d not in needed]
    assert not extra, f"dvc.yaml stage {stage} lists modules it never runs: {extra}"


def test_dvc_yaml_is_as_the_script_writes_it() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/dvc_deps.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_training_depends_on_neither_shards_nor_labels_nor_other_models() -> None:
    """The issue's cases: the Parquet writer, the label reader and the audio layout shape
    the data set, not the models trained on it; each model's folds list its own module."""
    (train,) = [body for name, body in STAGES if name == "train"]
    deps = set(_deps(train))
    for module in ("features/shards.py", "data/labels.py", "features/audio_layout.py"):
        assert f"src/moviegenre/{module}" not in deps, module
    arch = "src/moviegenre/models/architectures"
    assert f"{arch}/${{item.model}}.py" in deps
    for model in train["matrix"]["model"]:
        assert f"{arch}/{model}.py" not in deps, model
        assert (REPO / f"{arch}/{model}.py").is_file(), model


def test_the_import_walk_follows_function_level_imports() -> None:
    """pipeline/folds.py imports moviegenre.dataset_files inside its function."""
    found = dvc_deps.reachable(["src/moviegenre/pipeline/folds.py"])
    assert "src/moviegenre/dataset_files.py" in found
    assert "src/moviegenre/features/shards.py" not in found  # the builder's, not the reader's


def _names_imported_at_run_time(path: Path) -> bool:
    """True when a module imports a name computed at run time, or a moviegenre module by
    a string (importlib.import_module, __import__); a fixed outside module does not count."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            target = node.args[0]
            fixed = isinstance(target, ast.Constant) and isinstance(target.value, str)
            if name in {"import_module", "__import__"} and (
                not fixed or target.value.startswith("moviegenre")
            ):
                return True
    return False


def test_every_import_by_name_is_declared() -> None:
    """The static walk cannot see `importlib.import_module(name)`: each module doing it
    must be in dvc_deps.DYNAMIC, which says which file it loads for a stage's item."""
    dynamic = {
        str(path.relative_to(REPO))
        for path in sorted((SRC / "moviegenre").rglob("*.py"))
        if _names_imported_at_run_time(path)
    }
    assert dynamic == set(dvc_deps.DYNAMIC)


def test_building_a_model_imports_its_own_architecture_module_only() -> None:
    """At run time, build_model(name) loads the architectures package, common.py and the
    named model's module, nothing of another model: what train@<model>-* lists (checked
    in a fresh interpreter, building two models one after the other)."""
    code = (
        "import sys, json\n"
        "from moviegenre.models.architectures import build_model\n"
        "from moviegenre.config import load_params\n"
        "cfg = load_params()\n"
        "def loaded():\n"
        "    return {m for m in sys.modules if m.startswith('moviegenre.models.architectures')}\n"
        "before = loaded()\n"
        "print(json.dumps(sorted(before)))\n"
        "for name in sys.argv[1:]:\n"
        "    build_model(name, 120, 8, 4, {**cfg['train'], **cfg['train'][name]})\n"
        "    print(json.dumps(sorted(loaded() - before)))\n"
        "    before = loaded()\n"
    )
    models = ["gru", "cnn1d"]
    result = subprocess.run(
        [sys.executable, "-c", code, *models],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    base = "moviegenre.models.architectures"
    package, first, second = (json.loads(line) for line in result.stdout.strip().splitlines()[-3:])
    assert package == [base, f"{base}.common"]
    assert first == [f"{base}.gru"]
    assert second == [f"{base}.cnn1d"]
