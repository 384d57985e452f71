"""The four visual models match docs/method.md layer for layer, and survive a .keras round trip."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import REPO

from moviegenre.config import load_params
from moviegenre.models.architectures import (
    branch_slices,
    build_model,
    model_keys,
)
from moviegenre.models.train import load_model
from moviegenre.registry import VISUAL_MODELS

#: params.yaml's train section: the only place hyperparameters come from
HP = load_params(REPO / "params.yaml")["train"]
DIM = 8  # the feature width does not change the structure; small keeps the tests fast


def _layers(model: keras.Model, cls: type) -> list:
    return [layer for layer in model.layers if isinstance(layer, cls)]


def _branch(model: keras.Model, k: int) -> list:
    return [layer for layer in model.layers if layer.name.startswith(f"branch_{k:02d}_")]


def test_branch_slices_cover_frames_9_to_116() -> None:
    slices = branch_slices()
    assert len(slices) == 12
    assert (slices[0].start, slices[0].stop) == (9, 18)
    assert (slices[-1].start, slices[-1].stop) == (108, 117)
    frames = np.concatenate([np.arange(240)[s] for s in slices])
    np.testing.assert_array_equal(frames, np.arange(9, 117))
    assert branch_slices(3, 4) == [slice(4, 8), slice(8, 12), slice(12, 16)]


@pytest.mark.parametrize("n_genres", [9, 4])
@pytest.mark.parametrize("name", VISUAL_MODELS)
def test_every_model_builds_with_sigmoid_genre_outputs(name: str, n_genres: int) -> None:
    model = build_model(name, 240, DIM, n_genres, HP[name])
    assert model.name == name
    assert model.input_shape == (None, 240, DIM)
    assert model.output_shape == (None, n_genres)
    out = model.get_layer("genres")
    assert out is model.layers[-1]
    assert out.activation is keras.activations.sigmoid
    assert model.loss == "binary_crossentropy"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    expected_lr = HP[name]["learning_rate"]
    assert float(model.optimizer.learning_rate) == pytest.approx(expected_lr)


def test_cnn1d_layers_match_method() -> None:
    model = build_model("cnn1d", 240, DIM, 9, HP["cnn1d"])
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer",
        "Conv1D",  # no BatchNormalization on the input (the seed's discarded layer)
        "BatchNormalization",
        "ReLU",
        "MaxPooling1D",
        "Conv1D",
        "BatchNormalization",
        "ReLU",
        "MaxPooling1D",
        "Flatten",
        "Dropout",
        "Dense",
        "Dropout",
        "Dense",
    ]
    convs = _layers(model, keras.layers.Conv1D)
    assert [c.filters for c in convs] == [384, 128]
    assert [c.kernel_size for c in convs] == [(3,), (3,)]
    assert [p.pool_size for p in _layers(model, keras.layers.MaxPooling1D)] == [(7,), (2,)]
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [0.5, 0.5]
    dense = model.get_layer("dense")
    assert dense.units == 100 and dense.activation is keras.activations.relu
    assert model.get_layer("flatten").output.shape == (None, 16 * 128)


def test_lstm_merge_has_twelve_branches_of_method_layers() -> None:
    model = build_model("lstm_merge", 240, DIM, 9, HP["lstm_merge"])
    assert len(_layers(model, keras.layers.Cropping1D)) == 12
    lstms = _layers(model, keras.layers.LSTM)
    assert len(lstms) == 24 and {(lstm.units, lstm.return_sequences) for lstm in lstms} == {
        (64, True)
    }
    for k in range(1, 13):
        kinds = [type(layer).__name__ for layer in _branch(model, k)]
        assert kinds == [
            "Cropping1D",
            "LSTM",
            "MaxPooling1D",
            "LSTM",
            "MaxPooling1D",
            "Flatten",
            "Dropout",
            "Dense",
            "Dense",
        ]
        assert model.get_layer(f"branch_{k:02d}_pool_1").pool_size == (2,)
        dense = model.get_layer(f"branch_{k:02d}_dense")
        assert dense.units == 32 and dense.activation is keras.activations.relu
        out = model.get_layer(f"branch_{k:02d}_out")
        assert out.units == 9 and out.activation is keras.activations.relu
        assert model.get_layer(f"branch_{k:02d}_dropout").rate == 0.5
    assert model.get_layer("concat").output.shape == (None, 12 * 9)


def test_gru_layers_match_method() -> None:
    model = build_model("gru", 240, DIM, 4, HP["gru"])
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "GRU", "MaxPooling1D", "GRU", "Dense"]
    first, second = _layers(model, keras.layers.GRU)
    assert (first.units, first.return_sequences) == (120, True)
    assert (second.units, second.return_sequences) == (64, False)
    assert model.get_layer("pool").pool_size == (3,)


def test_gru_merge_has_twelve_branches_of_method_layers() -> None:
    model = build_model("gru_merge", 240, DIM, 4, HP["gru_merge"])
    assert len(_layers(model, keras.layers.GRU)) == 24
    for k in range(1, 13):
        kinds = [type(layer).__name__ for layer in _branch(model, k)]
        assert kinds == ["Cropping1D", "GRU", "MaxPooling1D", "GRU", "Dense"]
        assert model.get_layer(f"branch_{k:02d}_gru_1").units == 120
        assert model.get_layer(f"branch_{k:02d}_gru_1").return_sequences
        assert model.get_layer(f"branch_{k:02d}_gru_2").units == 64
        assert model.get_layer(f"branch_{k:02d}_pool").pool_size == (3,)
        out = model.get_layer(f"branch_{k:02d}_out")
        assert out.units == 4 and out.activation is keras.activations.relu
    assert model.get_layer("concat").output.shape == (None, 12 * 4)


def test_branches_see_frames_9_to_116() -> None:
    model = build_model("gru_merge", 130, 1, 4, {**HP["gru_merge"], "units": [2, 2]})
    crops = [model.get_layer(f"branch_{k:02d}_frames").output for k in range(1, 13)]
    probe = keras.Model(model.input, crops)
    frames = np.arange(130, dtype=np.float32).reshape(1, 130, 1)
    seen = [np.asarray(view)[0, :, 0] for view in probe(frames)]
    for k, (view, part) in enumerate(zip(seen, branch_slices(), strict=True), start=1):
        np.testing.assert_array_equal(view, np.arange(part.start, part.stop), err_msg=f"{k}")


def test_params_set_every_hyperparameter() -> None:
    model = build_model(
        "cnn1d", 64, DIM, 9, {**HP["cnn1d"], "filters": [8, 4], "dense_units": 5, "seed": 1}
    )
    assert [c.filters for c in _layers(model, keras.layers.Conv1D)] == [8, 4]
    assert model.get_layer("dense").units == 5
    gru = build_model("gru", 30, DIM, 9, {**HP["gru"], "units": [6, 3], "learning_rate": 0.01})
    assert [g.units for g in _layers(gru, keras.layers.GRU)] == [6, 3]
    assert float(gru.optimizer.learning_rate) == pytest.approx(0.01)


def test_bad_names_and_too_few_frames_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="cnn1d, lstm_merge, gru, gru_merge"):
        build_model("transformer", 240, DIM, 9, HP["cnn1d"])
    for name in ("lstm_merge", "gru_merge"):
        with pytest.raises(ValueError, match="117"):
            build_model(name, 116, DIM, 9, HP[name])
    with pytest.raises(ValueError, match="30 frames"):
        build_model("cnn1d", 29, DIM, 9, HP["cnn1d"])
    build_model("cnn1d", 30, DIM, 9, HP["cnn1d"])


@pytest.mark.parametrize("name", VISUAL_MODELS)
def test_keras_round_trip_predicts_the_same(name: str, tmp_path) -> None:
    small = {"filters": [8, 4], "dense_units": 6, "units": [6, 4] if "gru" in name else 4}
    model = build_model(name, 120, DIM, 4, {**HP[name], **small})
    x = np.random.default_rng(3).normal(size=(3, 120, DIM)).astype(np.float32)
    before = np.asarray(model(x, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = load_model(path)  # safe mode, no custom_objects
    after = np.asarray(loaded(x, training=False))
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-7)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def _config_paths(config, prefix=()):
    """(path, value) of every leaf of a nested Keras config, for diffing two models."""
    if isinstance(config, dict):
        for key, value in config.items():
            yield from _config_paths(value, (*prefix, key))
    elif isinstance(config, list | tuple):
        for i, value in enumerate(config):
            yield from _config_paths(value, (*prefix, i))
    else:
        yield prefix, config


@pytest.mark.parametrize("name", ["lstm_merge", "gru", "gru_merge"])
def test_recurrent_activation_changes_only_the_gates(name: str) -> None:
    small = {"branches": 2, "units": [6, 4] if name != "lstm_merge" else 6}
    base = build_model(name, 240, DIM, 4, {**HP[name], **small})
    hard = build_model(
        name, 240, DIM, 4, {**HP[name], **small, "recurrent_activation": "hard_sigmoid"}
    )
    recurrent = (keras.layers.LSTM, keras.layers.GRU)
    gates = [layer.cell.recurrent_activation for layer in _layers(base, recurrent)]
    assert len(gates) in (2, 4) and gates == [keras.activations.sigmoid] * len(gates)
    hard_gates = [layer.cell.recurrent_activation for layer in _layers(hard, recurrent)]
    assert hard_gates == [keras.activations.hard_sigmoid] * len(gates)
    before = dict(_config_paths(base.get_config()))
    after = dict(_config_paths(hard.get_config()))
    changed = {path for path in before if before[path] != after.get(path)}
    assert changed and all("recurrent_activation" in path for path in changed)
    assert before.keys() == after.keys()


def test_cnn1d_has_no_recurrent_activation_and_bad_values_fail() -> None:
    assert "recurrent_activation" not in model_keys("cnn1d")
    with pytest.raises(ValueError, match="recurrent_activation"):
        build_model(
            "gru", 240, DIM, 4, {**HP["gru"], "units": [4, 4], "recurrent_activation": "tanh"}
        )


@pytest.mark.parametrize("name", VISUAL_MODELS)
def test_a_missing_hyperparameter_is_named_not_defaulted(name: str) -> None:
    """params.yaml is the only source: no key is filled in by the code."""
    partial = {k: v for k, v in HP[name].items() if k != "learning_rate"}
    with pytest.raises(ValueError, match=rf"train\.{name}: missing learning_rate"):
        build_model(name, 240, DIM, 4, partial)
