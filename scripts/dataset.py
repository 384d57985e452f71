"""DVC stage dataset: labels joined with features, for the configured genre setting."""

from moviegenre.config import load_params
from moviegenre.dataset import build_dataset
from moviegenre.logs import setup_logging

setup_logging()
build_dataset(load_params())
