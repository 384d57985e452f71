"""DVC stages audio_svm and fuse@<model>: per-genre SVMs on audio, or audio + visual."""

import sys

from moviegenre.config import load_params
from moviegenre.logs import setup_logging
from moviegenre.stages.fuse import AUDIO_MODEL, run_audio, run_fusion

setup_logging()
if sys.argv[1] == AUDIO_MODEL:
    run_audio(load_params())
else:
    run_fusion(load_params(), sys.argv[1])
