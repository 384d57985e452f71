"""DVC stage folds: every train/valid trailer in one of `stacking.folds` multi-label
stratified folds (cross-fitting, moviegenre.stacking); test trailers in none."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pandas as pd

from moviegenre import paths
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.stacking import TEST_FOLD, assign_folds, write_folds

log = logging.getLogger("moviegenre.stacking")


def run(config: dict[str, Any]) -> None:
    from moviegenre.dataset_files import load_dataset

    data = load_dataset()
    stacking = config["stacking"]
    folds = assign_folds(
        data.index["split"].to_numpy(), data.labels, int(stacking["folds"]), int(stacking["seed"])
    )
    write_folds(paths.FOLDS_FILE, data.index["trailer_id"], data.index["split"], folds)
    sizes = pd.Series(folds[folds != TEST_FOLD]).value_counts().sort_index().tolist()
    log.info(
        "folds: %d train+valid trailers in folds of %s", int((folds != TEST_FOLD).sum()), sizes
    )


def main(argv: list[str] | None = None) -> int:
    stage_parser(__spec__.name, __doc__).parse_args(argv)
    return stage_main("folds", run)


if __name__ == "__main__":
    sys.exit(main())
