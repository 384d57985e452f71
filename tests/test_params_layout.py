"""params.yaml is kept in the layout DVC writes, so an experiment's diff is its change.

`dvc exp run -S key=value` rewrites params.yaml with DVC's own YAML dumper (ruamel,
block style): a file in another layout (flow lists, `null`) would come back with every
such line rewritten, burying the one value that changed. DVC's code is run for real, both
the function `dvc exp run -S` calls and the command itself in a minimal repository.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import REPO, run


def _changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


@pytest.mark.parametrize(
    ("override", "key", "value"),
    [
        ("fusion.C.num=9", ("fusion", "C", "num"), 9),
        ("fusion.protocol=original", ("fusion", "protocol"), "original"),
        ("train.cnn1d.learning_rate=0.003", ("train", "cnn1d", "learning_rate"), 0.003),
        ("stacking.seed=3", ("stacking", "seed"), 3),
    ],
)
def test_a_dvc_set_param_changes_exactly_one_line(
    tmp_path: Path, override: str, key: tuple[str, ...], value: object
) -> None:
    from dvc.utils.hydra import apply_overrides  # what `dvc exp run -S` calls

    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    before = path.read_text()
    apply_overrides(path, [override])
    after = path.read_text()
    changed = _changed_lines(before, after)
    assert len(changed) == 2, "\n".join(changed)  # one line out, one line in
    got = yaml.safe_load(after)
    for part in key:
        got = got[part]
    assert got == value


def test_dvc_exp_run_leaves_a_one_line_params_diff(tmp_path: Path) -> None:
    """The issue's own check, with the real `dvc exp run` on a stage that reads one key."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(REPO / "params.yaml", repo / "params.yaml")
    (repo / "dvc.yaml").write_text(
        "stages:\n  echo:\n    cmd: python -c \"print('ran')\"\n    params:\n      - fusion.C.num\n"
    )
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.email", "test@example.invalid"],
        ["git", "config", "user.name", "moviegenre tests"],
        ["dvc", "init", "-q"],
        ["dvc", "repro", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "baseline"],
    ):
        run(cmd, repo)
    run(["dvc", "exp", "run", "-S", "fusion.C.num=9"], repo)
    diff = run(["git", "diff", "--unified=0", "params.yaml"], repo).stdout
    changed = [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert len(changed) == 2, diff
    assert changed[0].startswith("-  C: {") and changed[1].startswith("+  C: {"), diff
    assert "num: 9" in changed[1], diff
