"""A hostile params.yaml is refused in one line naming the file and line, everywhere.

A 4 KB file of nested YAML aliases expands to 10^8 values when a validator walks it
(validate-config and `snakemake -n` ran out of memory), and a mapping nested 5,000 deep
made PyYAML's and Snakemake's readers raise RecursionError with a 3,000-line traceback.
The real commands run here under a memory limit and a timeout, so that a regression
fails the test instead of taking the machine down.
"""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, copy_repo, tool_env

from moviegenre.config import (
    MAX_PARAMS_DEPTH,
    ConfigError,
    check_params_shape,
    load_params,
)

MEMORY_LIMIT = 3 << 30  # address space: enough for the commands' imports, not for the bomb
TIMEOUT_S = 120


def committed_params() -> str:
    return (REPO / "params.yaml").read_text(encoding="utf-8")


def alias_bomb() -> tuple[str, int]:
    """params.yaml with 8 levels x 10 aliases inside train.cnn1d.filters (a checked list);
    returns the text and the line of the first anchor."""
    text = committed_params()
    plain = "    filters:\n    - 384\n    - 128\n"  # the block list DVC writes
    assert plain in text
    items = ["&b0 [x, x, x, x, x, x, x, x, x, x]"]
    items += [f"&b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = text.replace(plain, plain + "".join(f"    - {item}\n" for item in items), 1)
    line = bomb[: bomb.index("&b0")].count("\n") + 1
    return bomb, line


def deep_nesting(levels: int = 5000) -> tuple[str, int]:
    """params.yaml plus a flow mapping nested `levels` deep; the line where it starts."""
    text = committed_params()
    line = text.count("\n") + 1
    return text + "extra: " + "{a: " * levels + "1" + "}" * levels + "\n", line


def limited() -> None:
    """preexec_fn: bound the child's memory, so a regression fails instead of swapping."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_bounded(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=limited,  # noqa: PLW1509 - setrlimit only, no threads started yet
    )


# ---- the check itself -----------------------------------------------------------------------


def test_aliases_are_refused_naming_the_line(tmp_path: Path) -> None:
    text, line = alias_bomb()
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        check_params_shape(path)  # in-process: never load_params (a regression would walk it)
    assert str(error.value).startswith(f"{path}: line {line}: YAML anchors and aliases")
    assert "\n" not in str(error.value)


def test_a_lone_anchor_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(committed_params().replace("  seed: 7", "  seed: &s 7", 1))
    with pytest.raises(ConfigError, match="anchors and aliases"):
        check_params_shape(path)


def test_deep_nesting_is_refused_naming_the_line(tmp_path: Path) -> None:
    text, line = deep_nesting()
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^{path}: line {line}: nested more than"):
        load_params(path)
    # the bound refuses nothing a real parameters file needs
    shallow, _ = deep_nesting(MAX_PARAMS_DEPTH - 1)
    path.write_text(shallow)
    check_params_shape(path)


def test_committed_params_pass_the_shape_check() -> None:
    check_params_shape(REPO / "params.yaml")


# ---- the real commands: validate-config, a stage command, snakemake -n ------------------------


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("hostile") / "repo")


COMMANDS = {
    "validate-config": (["moviegenre", "validate-config"], "moviegenre"),
    "stage": (["python", "-m", "moviegenre.pipeline.dataset"], "dataset"),
    "snakemake": (["snakemake", "-n"], "moviegenre"),
}
# Snakemake's own first line when a workflow profile exists; not ours to remove
SNAKEMAKE_NOTICE = "Using workflow specific profile"


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("hostile", [alias_bomb, deep_nesting])
def test_every_entry_point_refuses_in_one_line(repo: Path, command: str, hostile) -> None:
    text, line = hostile()
    (repo / "params.yaml").write_text(text)
    argv, program = COMMANDS[command]
    result = run_bounded(argv, repo)
    lines = [
        x
        for x in (result.stderr + result.stdout).splitlines()
        if not x.startswith(SNAKEMAKE_NOTICE)
    ]
    assert result.returncode == 2, (result.stderr[-2000:], result.returncode)
    assert len(lines) == 1, lines[:20]
    assert lines[0].startswith(f"{program}: params.yaml: line {line}: "), lines[0]
    assert not (repo / "results" / "features").exists()
