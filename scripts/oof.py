"""DVC stage oof@<model>: out-of-fold (and test-time mean) probabilities of one visual model."""

import sys

from moviegenre.config import load_params
from moviegenre.logs import setup_logging
from moviegenre.stages.stacking import run_oof

setup_logging()
run_oof(load_params(), sys.argv[1])
