"""DVC stage oof@<model>: one visual model's stacked probability tables.

Reads the model's k fold predictions and writes results/predictions/<model>.parquet:
out-of-fold probabilities for train/valid trailers, the mean of the k fold models for test
ones; and, beside it, the in-sample table that the original code's protocol
(`fusion.protocol: original`) feeds to the SVMs.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from moviegenre import paths
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.predictions import read_predictions, write_predictions
from moviegenre.registry import VISUAL_MODELS
from moviegenre.stacking import combine, read_folds

log = logging.getLogger("moviegenre.stacking")


def run(config: dict[str, Any], name: str) -> None:
    from moviegenre.dataset_files import load_dataset

    data = load_dataset()
    folds = read_folds(paths.FOLDS_FILE, data.index["trailer_id"])
    k = int(config["stacking"]["folds"])
    per_fold = []
    for fold in range(k):
        _, probabilities = read_predictions(
            paths.fold_predictions_path(name, fold),
            data.genres,
            data.index["trailer_id"],
            rerun=f"dvc repro train@{name}-{fold}",
        )
        per_fold.append(probabilities)
    oof, insample = combine(per_fold, folds)
    for path, table in ((paths.predictions_path(name), oof), (paths.insample_path(name), insample)):
        write_predictions(path, data.index["trailer_id"], data.index["split"], table, data.genres)
    log.info("%s: out-of-fold table from %d fold models", name, k)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__spec__.name, __doc__)
    parser.add_argument("model", choices=VISUAL_MODELS, help="visual model")
    model = parser.parse_args(argv).model
    return stage_main(f"oof@{model}", lambda config: run(config, model))


if __name__ == "__main__":
    sys.exit(main())
