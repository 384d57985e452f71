"""DVC stage train@<model>: fit one visual model (cnn1d, lstm_merge, gru, gru_merge)."""

import sys

from moviegenre.config import load_params
from moviegenre.logs import setup_logging
from moviegenre.stages.train import run

setup_logging()
run(load_params(), sys.argv[1])
