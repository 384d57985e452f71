"""`moviegenre predict --threads N`: the cores prediction uses (decode workers, TensorFlow)."""

from __future__ import annotations

import argparse

import pytest

from moviegenre.predict import add_arguments


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["trailer.mp4", *argv])


def test_threads_default_to_the_process_cores_and_take_a_count() -> None:
    assert _parse().threads is None  # Predictor then uses every core it may run on
    assert _parse("--threads", "3").threads == 3


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_threads_below_one_or_not_a_number_are_refused(bad: str) -> None:
    with pytest.raises(SystemExit):
        _parse("--threads", bad)
