"""Missing stage inputs, and which DVC stage makes them: the one-line error of a stage command.

A user who runs a stage (`python -m moviegenre.pipeline.train cnn1d 0`) before the data
set exists should read one line naming the missing path and the command that makes it,
not a traceback. Both the inputs and their
makers are read from the real dvc.yaml through DVC's own API (params interpolation and
foreach/matrix stages resolved as `dvc repro` resolves them), so no table here repeats it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _stages(root: str | os.PathLike[str]) -> list[Any]:
    """dvc.yaml's stages, or none when `root` is no DVC repository or dvc.yaml is unreadable."""
    try:
        from dvc.repo import Repo

        with Repo(os.fspath(root)) as repo:
            return list(repo.index.stages)
    except Exception:  # noqa: BLE001 - only a hint for an error message: never mask it
        return []


def _present(path: Path) -> bool:
    """A file, or a folder with something in it (a stage that failed may leave it empty)."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def _makers(target: Path, stages: list[Any]) -> list[str]:
    """Stages with an output that is `target`, lies inside it, or contains it."""
    names = []
    for stage in stages:
        for out in stage.outs:
            made = Path(os.path.abspath(out.fs_path))
            if made == target or target in made.parents or made in target.parents:
                names.append(stage.name)
                break
    return names


def _repro_targets(names: list[str]) -> str:
    """`dvc repro` targets for these stages: a foreach/matrix group counts as one."""
    if len(names) == 1:
        return names[0]
    return " ".join(dict.fromkeys(name.split("@", 1)[0] for name in names))


def _message(target: Path, root: Path, stages: list[Any]) -> str:
    shown = os.path.relpath(target, root)
    names = _makers(target, stages)
    if not names:
        return f"{shown} missing: no DVC stage makes it; check params.yaml's data section"
    return f"{shown} missing: run `dvc repro {_repro_targets(names)}`"


def missing_input(stage: str, root: str | os.PathLike[str] = ".") -> str | None:
    """One line for the first missing dependency of DVC stage `stage`, or None if all exist.

    None too when dvc.yaml has no such stage (the command then runs and may fail by itself).
    """
    base = Path(os.path.abspath(root))
    stages = _stages(base)
    for candidate in stages:
        if candidate.name == stage:
            for dep in candidate.deps:
                target = Path(os.path.abspath(dep.fs_path))
                if not _present(target):
                    return _message(target, base, stages)
    return None


def missing_path_message(path: str | os.PathLike[str] | None, root: str = ".") -> str:
    """One line for a file a command did not find (FileNotFoundError's filename)."""
    if path is None:
        return "an input is missing: run `dvc status` to see which stage is out of date"
    base = Path(os.path.abspath(root))
    return _message(Path(os.path.abspath(path)), base, _stages(base))
