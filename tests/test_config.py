"""params.yaml is validated against the schema, with the key path and allowed values."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from helpers import REPO

from moviegenre.config import ConfigError, load_params, validate_config


@pytest.fixture
def params() -> dict:
    return load_params(REPO / "params.yaml")


def test_committed_params_are_valid(params: dict) -> None:
    assert params["backbone"]["name"] in {"mobilenetv3small", "resnet152"}
    assert "recurrent_activation" not in params["train"]["cnn1d"]  # no recurrent layer there
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
        # a renamed value is refused naming the value that means the same now
        (("fusion", "protocol"), "seed", "fusion.protocol: 'seed' is now called 'original'"),
        # issue 12: values that passed validation and misbehaved later
        (("extraction", "shards"), 2.0, "extraction.shards: 2.0 is not an integer; write 2"),
        (("synth", "count"), True, "synth.count: True is not of type 'integer'"),
        (("frames", "end_s"), float("inf"), "frames.end_s: inf is not allowed; a finite"),
        (("frames", "start_s"), float("nan"), "frames.start_s: nan is not allowed; a finite"),
        (("audio", "offset_s"), float("-inf"), "audio.offset_s: -inf is not allowed"),
        (("train", "seed"), 2**32, "train.seed: 4294967296 is greater than the maximum"),
        (("synth", "seed"), 2**32, "synth.seed: 4294967296 is greater than the maximum"),
        (("fusion", "seed"), 2**40, "fusion.seed: 1099511627776 is greater than the maximum"),
        (("train", "gru", "units"), [120, 10**6], "train.gru.units.1: 1000000 is greater"),
        (("train", "cnn1d", "filters"), [10**5, 128], "train.cnn1d.filters.0: 100000 is"),
        (("train", "cnn1d", "dense_units"), 10**7, "train.cnn1d.dense_units: 10000000 is"),
        (("train", "lstm_merge", "branch_frames"), 10**9, "train.lstm_merge.branch_frames"),
        (("train", "patience"), 10**9, "train.patience: 1000000000 is greater"),
        (("fusion", "C", "stop"), 1e300, "fusion.C.stop: 1e+300 is greater than the maximum"),
        (("frames", "start_s"), 1e12, "frames.start_s: 1000000000000.0 is greater"),
        # fidelity options: only the original code's behaviour is allowed
        (("audio", "resampler"), "linear", "audio.resampler"),
        (("frames", "step_ms"), "ms", "frames.step_ms"),
        (("backbone", "layer"), "block5_pool", "backbone.layer"),
        (
            ("train", "lstm_merge", "recurrent_activation"),
            "tanh",
            "train.lstm_merge.recurrent_activation",
        ),
        (("train", "gru", "recurrent_activation"), "relu", "train.gru.recurrent_activation"),
        (
            ("train", "gru_merge", "recurrent_activation"),
            "softsign",
            "train.gru_merge.recurrent_activation",
        ),
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


def test_seed_just_below_2_to_the_32_is_accepted(params: dict) -> None:
    good = copy.deepcopy(params)
    good["train"]["seed"] = 2**32 - 1
    validate_config(good)


DUPLICATED = (
    "extraction:\n  shards: 2\n  audio_share: 0.25\n  cluster_cores: 8\n"
    "  min_duration_s: 6.0\n  shards: 4\n"
)


def _with_duplicate_key(path: Path) -> Path:
    """params.yaml with `extraction.shards` given twice (the rest as committed)."""
    text = (REPO / "params.yaml").read_text()
    start = text.index("\nextraction:\n") + 1
    end = text.index("\ndataset:")
    path.write_text(text[:start] + DUPLICATED + text[end:])
    return path


def test_duplicate_key_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = _with_duplicate_key(tmp_path / "params.yaml")
    assert yaml.safe_load(path.read_text())["extraction"]["shards"] == 4  # PyYAML: last wins
    with pytest.raises(ConfigError, match=r"line \d+: key 'shards' appears twice"):
        load_params(path)
    config = yaml.safe_load(path.read_text())
    validate_config(config)  # the merged dict itself is valid ...
    with pytest.raises(ConfigError, match="key 'shards' appears twice"):
        validate_config(config, files=[path])  # ... the file it came from is not


def test_duplicate_key_is_refused_by_every_entry_point(tmp_path: Path) -> None:
    """validate-config, a stage command and Snakemake's own parse: exit 2 / error, same line."""
    from helpers import copy_repo, run

    repo = copy_repo(tmp_path / "repo")
    _with_duplicate_key(repo / "params.yaml")
    stage = ["python", "-m", "moviegenre.pipeline.dataset"]
    for command in (["moviegenre", "validate-config"], stage):
        result = run(command, repo, check=False, timeout=300)
        assert result.returncode == 2, (command, result.stderr[-2000:])
        assert "key 'shards' appears twice" in result.stderr, result.stderr[-2000:]
    result = run(["snakemake", "-n"], repo, check=False, timeout=300)
    assert result.returncode != 0
    assert "key 'shards' appears twice" in result.stderr + result.stdout
    assert not (repo / "results/features").exists()


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
