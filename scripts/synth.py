"""DVC stage synth: the built-in synthetic LMTD-style trailers and their labels."""

from pathlib import Path

from moviegenre.config import load_params
from moviegenre.data.synth import SynthConfig, generate
from moviegenre.logs import setup_logging

setup_logging()
params = load_params()
generate(
    Path("data/synthetic/trailers"),
    Path("data/synthetic/database.db"),
    SynthConfig(**params["synth"]),
)
