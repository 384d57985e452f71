"""params.yaml is validated against the schema, with the key path and allowed values."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from moviegenre.config import ConfigError, load_params, validate_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def params() -> dict:
    return load_params(REPO / "params.yaml")


def test_committed_params_are_valid(params: dict) -> None:
    assert params["backbone"]["name"] in {"mobilenetv3small", "resnet152"}
    assert (REPO / "workflow/schemas/config.schema.yaml").resolve().is_file()


@pytest.mark.parametrize(
    ("key_path", "value", "expected"),
    [
        (
            ("backbone", "name"),
            "resnet18",
            "backbone.name: 'resnet18' is not allowed; allowed values",
        ),
        (("backbone", "weights"), "weights.bin", "backbone.weights"),
        (("dataset", "genres"), 5, "dataset.genres: 5 is not allowed; allowed values: 9, 4"),
        (("audio", "pooling"), "max", "audio.pooling"),
        (("extraction", "shards"), 0, "extraction.shards"),
        (("train", "cnn1d", "learning_rate"), -1, "train.cnn1d.learning_rate"),
        (("evaluate", "threshold_split"), "test", "allowed values: 'oof', 'valid', 'train'"),
    ],
)
def test_bad_values_name_the_key(params: dict, key_path, value, expected: str) -> None:
    bad = copy.deepcopy(params)
    node = bad
    for key in key_path[:-1]:
        node = node[key]
    node[key_path[-1]] = value
    with pytest.raises(ConfigError) as error:
        validate_config(bad)
    assert expected in str(error.value)


def test_unknown_and_missing_keys(params: dict) -> None:
    bad = copy.deepcopy(params)
    bad["train"]["cnn1d"]["lr"] = 0.1
    del bad["fusion"]["cv_folds"]
    message = str(pytest.raises(ConfigError, validate_config, bad).value)
    assert "'lr' was unexpected" in message and "known keys here" in message
    assert "fusion: 'cv_folds' is a required property" in message


def test_frames_window_must_be_ordered(params: dict) -> None:
    bad = copy.deepcopy(params)
    bad["frames"]["end_s"] = 4.0
    with pytest.raises(ConfigError, match="frames.end_s"):
        validate_config(bad)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ConfigError, match="mapping"):
        load_params(listed)
