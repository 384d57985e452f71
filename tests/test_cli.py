"""The `moviegenre` command as a user meets it: help, --params anywhere, missing inputs.

Everything runs the real installed command in a subprocess; the DVC stages' commands run
in a fresh repo copy where nothing has been made yet, so their inputs are really missing.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest
from helpers import BIN, REPO, copy_repo, run

from moviegenre.cli import build_parser
from moviegenre.producers import missing_path_message

MOVIEGENRE = str(BIN / "moviegenre")
PYTHON = str(BIN / "python")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _check_help(command: str, parser: argparse.ArgumentParser, help_text: str) -> None:
    description = help_text.split("\n\n")[1]
    assert not description.startswith(("positional arguments", "options")), (
        f"`moviegenre {command} --help` has no description"
    )
    text = " ".join(help_text.split())
    for action in parser._actions:
        if action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            continue
        assert f"default: {action.default}" in text, (
            f"`moviegenre {command} --help` does not show {action.option_strings[0]}'s "
            f"default {action.default!r}"
        )


@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_help_has_a_description_and_the_defaults(command: str) -> None:
    # The parser objects the command uses (one subprocess each would cost seconds apiece).
    parser = _subparsers()[command]
    _check_help(command, parser, parser.format_help())


def test_the_installed_command_prints_that_help() -> None:
    result = run([MOVIEGENRE, "predict", "--help"], REPO)
    _check_help("predict", _subparsers()["predict"], result.stdout)


def test_params_is_accepted_before_and_after_the_subcommand(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text((REPO / "params.yaml").read_text())
    bad = tmp_path / "absent.yaml"

    after = run([MOVIEGENRE, "validate-config", "--params", str(good)], REPO)
    assert f"{good}: valid" in after.stdout
    before = run([MOVIEGENRE, "--params", str(good), "validate-config"], REPO)
    assert f"{good}: valid" in before.stdout
    # Given in both places, the one after the subcommand wins.
    both = run(
        [MOVIEGENRE, "--params", str(good), "validate-config", "--params", str(bad)],
        REPO,
        check=False,
    )
    assert both.returncode == 2 and str(bad) in both.stderr


def test_predict_offers_no_params_option_it_would_ignore() -> None:
    """predict uses the bundle's recorded settings, never params.yaml: no --params there."""
    commands = _subparsers()
    predict_options = {o for a in commands["predict"]._actions for o in a.option_strings}
    assert "--params" not in predict_options
    assert "--params" in {o for a in commands["audio-features"]._actions for o in a.option_strings}


@pytest.fixture(scope="module")
def fresh_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy in which no stage has run: every stage input is missing."""
    return copy_repo(tmp_path_factory.mktemp("fresh") / "repo")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["dataset"], "data/synthetic/database.db missing: run `dvc repro synth`"),
        (["train", "gru", "0"], "results/dataset missing: run `dvc repro dataset`"),
        (["fuse", "cnn1d"], "results/dataset missing: run `dvc repro dataset`"),
        (["evaluate"], "results/dataset missing: run `dvc repro dataset`"),
    ],
    ids=["dataset", "train", "fuse", "evaluate"],
)
def test_a_stage_on_missing_inputs_says_what_and_how_in_one_line(
    fresh_repo: Path, command: list[str], expected: str
) -> None:
    """A stage's own command (`python -m moviegenre.pipeline.<stage>`) run by hand too early."""
    stage, *args = command
    result = run([PYTHON, "-m", f"moviegenre.pipeline.{stage}", *args], fresh_repo, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    address = {"train": "train@gru-0", "fuse": "fuse@cnn1d"}.get(stage, stage)
    assert lines == [f"{address}: {expected}"], result.stderr[-2000:]


def test_the_cli_offers_no_second_copy_of_the_stages() -> None:
    assert not {"dataset", "train", "fuse", "evaluate"} & set(_subparsers())


def test_a_missing_file_met_while_running_names_its_maker(fresh_repo: Path) -> None:
    # The fallback when a stage function itself raises FileNotFoundError.
    message = missing_path_message(fresh_repo / "results/stacking/folds.parquet", str(fresh_repo))
    assert message == "results/stacking/folds.parquet missing: run `dvc repro folds`"
    message = missing_path_message(fresh_repo / "results/predictions", str(fresh_repo))
    assert message == "results/predictions missing: run `dvc repro oof audio_svm fuse`"


@pytest.mark.parametrize(
    "stage",
    ["synth", "dataset", "folds", "train", "oof", "audio_svm", "fuse", "evaluate", "bundle"],
)
def test_a_stage_command_explains_itself_and_does_nothing_on_help(
    stage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = importlib.import_module(f"moviegenre.pipeline.{stage}")
    with pytest.raises(SystemExit) as stopped:
        module.main(["--help"])
    assert stopped.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"python -m moviegenre.pipeline.{stage}" in text
    assert f"DVC stage {stage}" in text
