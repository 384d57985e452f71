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


def stage_main(stage: str, body: Callable[[dict[str, Any]], object]) -> int:
    """Run one DVC stage's `body` on params.yaml; exit status 2 with one line on bad input.

    `stage` is the stage's dvc.yaml address (e.g. `train@cnn1d-0`): run by hand before the
    stages it depends on, the message names the missing input and the `dvc repro` target
    that makes it. Under DVC (which checks deps itself) that look-up is skipped.
    """
    from moviegenre.producers import missing_input, missing_path_message

    setup_logging()
    try:
        config = load_params()
        if not os.environ.get(DVC_STAGE_ENV):
            missing = missing_input(stage)
            if missing:
                print(f"{stage}: {missing}", file=sys.stderr)
                return 2
        body(config)
    except RefusedInput as exc:  # params.yaml, a label file...: its report, no traceback
        print(f"{stage}: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"{stage}: {missing_path_message(exc.filename)}", file=sys.stderr)
        return 2
    return 0


def stage_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser of a stage module: `--help` prints what the stage does."""
    return argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
