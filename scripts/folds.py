"""DVC stage folds: multi-label stratified folds over the train+valid trailers."""

from moviegenre.config import load_params
from moviegenre.logs import setup_logging
from moviegenre.stages.stacking import run_folds

setup_logging()
run_folds(load_params())
