"""DVC stage train@<model>-<fold>: fit one visual model on the other folds (cross-fitting).

The model learns from the non-test trailers outside `fold`, early-stopping on a stratified
slice of those (never on the held-out fold), and writes its probabilities for every
trailer; the oof stage keeps the held-out fold's rows and averages the folds for test.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

from moviegenre import paths
from moviegenre.dataset_files import load_dataset
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.predictions import write_predictions
from moviegenre.registry import VISUAL_MODELS
from moviegenre.stacking import fold_rows, read_folds

log = logging.getLogger("moviegenre.train")


def run(config: dict[str, Any], name: str, fold: int) -> None:
    from moviegenre.runtime import configure_tensorflow

    configure_tensorflow()  # before keras is imported: TensorFlow's start-up notices filtered
    from moviegenre.models.train import (
        predict_probabilities,
        resolve_params,
        set_determinism,
        train_model,
    )

    params = resolve_params(name, config["train"])
    set_determinism(int(params["seed"]))
    data = load_dataset()
    folds = read_folds(paths.FOLDS_FILE, data.index["trailer_id"])
    stacking = config["stacking"]
    fit_idx, stop_idx, held_out = fold_rows(
        folds,
        fold,
        data.labels,
        float(stacking["early_stopping_fraction"]),
        int(stacking["seed"]),
    )
    max_frames = int(config["dataset"]["max_frames"])
    log.info(
        "training %s fold %d on %d trailers (early stopping on %d, held out %d), %d genres",
        name,
        fold,
        len(fit_idx),
        len(stop_idx),
        len(held_out),
        len(data.genres),
    )
    result = train_model(
        name,
        data.visual,
        data.labels,
        fit_idx,
        stop_idx,
        params,
        max_frames,
        paths.fold_model_path(name, fold),
        paths.training_log_dir(name, fold),
    )
    log.info("%s fold %d: best epoch %d of %d", name, fold, result.best_epoch, result.epochs_run)
    everything = np.arange(len(data.index))
    probabilities = predict_probabilities(result.model, data.visual, everything, max_frames)
    write_predictions(
        paths.fold_predictions_path(name, fold),
        data.index["trailer_id"],
        data.index["split"],
        probabilities,
        data.genres,
    )


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__spec__.name, __doc__)
    parser.add_argument("model", choices=VISUAL_MODELS, help="visual model")
    parser.add_argument("fold", type=int, help="the held-out fold (0..stacking.folds-1)")
    args = parser.parse_args(argv)
    return stage_main(
        f"train@{args.model}-{args.fold}", lambda config: run(config, args.model, args.fold)
    )


if __name__ == "__main__":
    sys.exit(main())
