"""DVC stage evaluate: test metrics, thresholds, plots and the prediction bundle."""

from moviegenre.config import load_params
from moviegenre.logs import setup_logging
from moviegenre.stages.evaluate import run

setup_logging()
run(load_params())
