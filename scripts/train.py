"""DVC stage train@<model>-<fold>: fit one visual model on the folds other than <fold>."""

import sys

from moviegenre.config import load_params
from moviegenre.logs import setup_logging
from moviegenre.stages.train import run

setup_logging()
run(load_params(), sys.argv[1], int(sys.argv[2]))
