"""DVC stages folds and oof@<model>: the fold table, and each visual model's stacked table.

`folds` assigns every train/valid trailer to one of `stacking.folds` multi-label
stratified folds. `oof@<model>` reads the model's k fold predictions and writes
results/predictions/<model>.parquet: out-of-fold probabilities for train/valid trailers,
the mean of the k fold models for test ones; and, beside it, the in-sample table the
seed's protocol (`fusion.protocol: seed`) feeds to the SVMs.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from moviegenre.predictions import predictions_path, read_predictions, write_predictions
from moviegenre.stacking import (
    FOLDS_FILE,
    TEST_FOLD,
    assign_folds,
    combine,
    fold_predictions_path,
    insample_path,
    read_folds,
    write_folds,
)

log = logging.getLogger("moviegenre.stacking")


def run_folds(config: dict[str, Any]) -> None:
    from moviegenre.dataset import load_dataset

    data = load_dataset()
    stacking = config["stacking"]
    folds = assign_folds(
        data.index["split"].to_numpy(), data.labels, int(stacking["folds"]), int(stacking["seed"])
    )
    write_folds(FOLDS_FILE, data.index["trailer_id"], data.index["split"], folds)
    sizes = pd.Series(folds[folds != TEST_FOLD]).value_counts().sort_index().tolist()
    log.info(
        "folds: %d train+valid trailers in folds of %s", int((folds != TEST_FOLD).sum()), sizes
    )


def run_oof(config: dict[str, Any], name: str) -> None:
    from moviegenre.dataset import load_dataset

    data = load_dataset()
    folds = read_folds(FOLDS_FILE, data.index["trailer_id"])
    k = int(config["stacking"]["folds"])
    per_fold = []
    for fold in range(k):
        rows, probabilities = read_predictions(fold_predictions_path(name, fold), data.genres)
        if rows["trailer_id"].tolist() != data.index["trailer_id"].tolist():
            raise RuntimeError(f"{fold_predictions_path(name, fold)} is not aligned: rerun it")
        per_fold.append(probabilities)
    oof, insample = combine(per_fold, folds)
    for path, table in ((predictions_path(name), oof), (insample_path(name), insample)):
        write_predictions(path, data.index["trailer_id"], data.index["split"], table, data.genres)
    log.info("%s: out-of-fold table from %d fold models", name, k)
