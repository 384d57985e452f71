"""DVC stage audio_svm: per-genre RBF SVMs on the audio vector alone (moviegenre.fusion.fit).

Trailers without sound get the no-audio policy (moviegenre.fusion.policy): the training
prevalence, flagged `audio_missing`; zeros are never passed off as audio.
"""

from __future__ import annotations

import sys
from typing import Any

from moviegenre.dataset_files import load_dataset
from moviegenre.fusion.fit import fit_and_write
from moviegenre.pipeline import stage_main, stage_parser
from moviegenre.registry import AUDIO_MODEL


def run(config: dict[str, Any]) -> None:
    fit_and_write(config, load_dataset(), AUDIO_MODEL)


def main(argv: list[str] | None = None) -> int:
    stage_parser(__spec__.name, __doc__).parse_args(argv)
    return stage_main("audio_svm", run)


if __name__ == "__main__":
    sys.exit(main())
