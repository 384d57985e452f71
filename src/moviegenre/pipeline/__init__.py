"""One module per DVC stage: `python -m moviegenre.pipeline.<stage>` is each stage's command.

Every module has a `run(config, ...)` body (reads its inputs, calls the package, writes its
outputs) and a `main()` that dvc.yaml calls; `stage_main` gives them all the same start:
logging, params.yaml validated, and one line instead of a traceback when an input is
missing (the stage that makes it is read from dvc.yaml). `scripts/` holds the Snakemake
rule scripts and dvc_deps.py, which writes each stage's code deps in dvc.yaml.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from moviegenre.config import RefusedInput, load_params
from moviegenre.logs import setup_logging

#: set by DVC for a stage's command (`dvc repro`, `dvc exp run`); DVC checked the deps
DVC_STAGE_ENV = "DVC_STAGE"
#: the exit status of a refused input (params.yaml, a label file, a missing input file)
EXIT_BAD_INPUT = 2


def exit_on_bad_input(
    program: str,
    body: Callable[[], int | None],
    refused: type[Exception] = RefusedInput,
    refused_program: str | None = None,
) -> int:
    """`body()`'s exit status, or EXIT_BAD_INPUT with one line on stderr instead of a
    traceback when it refuses an input (`refused`: its report, prefixed `refused_program`,
    default `program`) or misses a file (the file, and the `dvc repro` target that makes it).

    The one handler of the stage commands and of the `moviegenre` command.
    """
    try:
        return int(body() or 0)
    except refused as exc:
        print(f"{refused_program or program}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        from moviegenre.producers import missing_path_message

        print(f"{program}: {missing_path_message(exc.filename)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def stage_main(stage: str, body: Callable[[dict[str, Any]], object]) -> int:
    """Run one DVC stage's `body` on params.yaml; exit status 2 with one line on bad input.

    `stage` is the stage's dvc.yaml address (e.g. `train@cnn1d-0`): run by hand before the
    stages it depends on, the message names the missing input and the `dvc repro` target
    that makes it. Under DVC (which checks deps itself) that look-up is skipped.
    """
    from moviegenre.producers import missing_input

    setup_logging()

    def checked_run() -> int:
        config = load_params()
        if not os.environ.get(DVC_STAGE_ENV):
            missing = missing_input(stage)
            if missing:
                print(f"{stage}: {missing}", file=sys.stderr)
                return EXIT_BAD_INPUT
        body(config)  # a stage's result is its files: its return value is not a status
        return 0

    return exit_on_bad_input(stage, checked_run)


def stage_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser of a stage module: `--help` prints what the stage does."""
    return argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
