"""DVC stage evaluate: test metrics, thresholds and plots (the bundle is stage bundle)."""

from moviegenre.config import load_params
from moviegenre.logs import setup_logging
from moviegenre.stages.evaluate import run

setup_logging()
run(load_params())
