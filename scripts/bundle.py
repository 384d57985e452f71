"""DVC stage bundle: the self-contained prediction bundle in models/bundle."""

from moviegenre.bundle import build
from moviegenre.config import load_params
from moviegenre.logs import setup_logging

setup_logging()
build(load_params())
