"""DVC stage audio_svm: per-genre RBF SVMs on the audio vector alone (moviegenre.fusion.fit).

Trailers without sound get the no-audio policy (moviegenre.fusion.policy): the training
prevalence, flagged `audio_missing`; zeros are never passed off as audio.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from moviegenre import paths
from moviegenre.dataset import load_dataset
from moviegenre.fusion.fit import fit_and_predict
from moviegenre.fusion.policy import train_prevalence, with_fallback
from moviegenre.fusion.svm import save_svms
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.predictions import write_predictions
from moviegenre.registry import AUDIO_MODEL

log = logging.getLogger("moviegenre.fuse")


def run(config: dict[str, Any]) -> None:
    data = load_dataset()
    has_audio = data.index["has_audio"].to_numpy(dtype=bool)
    svms, probabilities = fit_and_predict(
        config, data.audio, None, data.labels, data.index["split"].to_numpy(), has_audio
    )
    prevalence = train_prevalence(data.labels, data.index["split"].to_numpy())
    probabilities, missing = with_fallback("audio", probabilities, has_audio, prevalence=prevalence)
    save_svms(svms, paths.svm_path(AUDIO_MODEL))
    write_predictions(
        paths.predictions_path(AUDIO_MODEL),
        data.index["trailer_id"],
        data.index["split"],
        probabilities,
        data.genres,
        audio_missing=missing,
    )
    log.info("audio SVMs: %s", getattr(svms, "best_params_", svms.notes_))


def main(argv: list[str] | None = None) -> int:
    stage_parser(__spec__.name, __doc__).parse_args(argv)
    return stage_main("audio_svm", run)


if __name__ == "__main__":
    sys.exit(main())
