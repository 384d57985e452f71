"""DVC stage fuse@<model>: per-genre RBF SVMs on audio + one visual model's probabilities.

The protocol (which rows the SVMs learn from, out-of-fold scores) is moviegenre.fusion.fit.
Trailers without sound get the no-audio policy (moviegenre.fusion.policy): the visual
model's own scores, flagged `audio_missing`; zeros are never passed off as audio.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre import paths
from moviegenre.dataset_files import Dataset, load_dataset
from moviegenre.fusion.fit import fit_and_predict
from moviegenre.fusion.policy import train_prevalence, with_fallback
from moviegenre.fusion.svm import save_svms
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.predictions import read_predictions, write_predictions
from moviegenre.registry import VISUAL_MODELS, fused_name

log = logging.getLogger("moviegenre.fuse")


def visual_table(config: dict[str, Any], visual_model: str) -> Path:
    """The visual probabilities the fusion reads: out-of-fold, or in-sample (original)."""
    if config["fusion"]["protocol"] == "original":
        return paths.insample_path(visual_model)
    return paths.predictions_path(visual_model)


def fit_and_write(
    config: dict[str, Any], data: Dataset, name: str, visual: np.ndarray | None = None
) -> None:
    """Fit model `name`'s SVMs on audio (and `visual`, for a fusion), give trailers without
    sound the no-audio policy, save the SVMs and the per-trailer probabilities.

    The body of both SVM stages: audio_svm (`visual` None) and fuse@<model>.
    """
    splits = data.index["split"].to_numpy()
    has_audio = data.index["has_audio"].to_numpy(dtype=bool)
    svms, probabilities = fit_and_predict(
        config, data.audio, visual, data.labels, splits, has_audio
    )
    if visual is None:
        prevalence = train_prevalence(data.labels, splits)
        probabilities, missing = with_fallback(
            "audio", probabilities, has_audio, prevalence=prevalence
        )
    else:
        probabilities, missing = with_fallback("fusion", probabilities, has_audio, visual=visual)
    save_svms(svms, paths.svm_path(name))
    write_predictions(
        paths.predictions_path(name),
        data.index["trailer_id"],
        data.index["split"],
        probabilities,
        data.genres,
        audio_missing=missing,
    )
    log.info("%s SVMs: %s", name, getattr(svms, "best_params_", svms.notes_))


def run(config: dict[str, Any], visual_model: str) -> None:
    data = load_dataset()
    table = visual_table(config, visual_model)
    rows, visual = read_predictions(table, data.genres)
    if rows["trailer_id"].tolist() != data.index["trailer_id"].tolist():
        raise RuntimeError(
            f"{table} is not aligned with the data set: rerun `dvc repro oof@{visual_model}`"
        )
    fit_and_write(config, data, fused_name(visual_model), visual)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__spec__.name, __doc__)
    parser.add_argument("model", choices=VISUAL_MODELS, help="visual model to fuse with audio")
    model = parser.parse_args(argv).model
    return stage_main(f"fuse@{model}", lambda config: run(config, model))


if __name__ == "__main__":
    sys.exit(main())
