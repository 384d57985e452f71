"""DVC stage fuse@<model>: per-genre RBF SVMs on audio + one visual model's probabilities.

The protocol (which rows the SVMs learn from, out-of-fold scores) is moviegenre.fusion.fit.
Trailers without sound get the no-audio policy (moviegenre.fusion.policy): the visual
model's own scores, flagged `audio_missing`; zeros are never passed off as audio.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from moviegenre import paths
from moviegenre.dataset_files import load_dataset
from moviegenre.fusion.fit import fit_and_write
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.predictions import read_predictions
from moviegenre.registry import VISUAL_MODELS, fused_name


def visual_table(config: dict[str, Any], visual_model: str) -> Path:
    """The visual probabilities the fusion reads: out-of-fold, or in-sample (original)."""
    if config["fusion"]["protocol"] == "original":
        return paths.insample_path(visual_model)
    return paths.predictions_path(visual_model)


def run(config: dict[str, Any], visual_model: str) -> None:
    data = load_dataset()
    table = visual_table(config, visual_model)
    _, visual = read_predictions(
        table, data.genres, data.index["trailer_id"], rerun=f"dvc repro oof@{visual_model}"
    )
    fit_and_write(config, data, fused_name(visual_model), visual)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__spec__.name, __doc__)
    parser.add_argument("model", choices=VISUAL_MODELS, help="visual model to fuse with audio")
    model = parser.parse_args(argv).model
    return stage_main(f"fuse@{model}", lambda config: run(config, model))


if __name__ == "__main__":
    sys.exit(main())
