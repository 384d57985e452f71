"""Backbones: dimensions, a reproducible offline network, and weights from a local file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from moviegenre.features.backbones import BACKBONE_NAMES, build_backbone, resolve_weights


def _frames(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (6, 224, 224, 3)).astype(np.uint8)
    frames[3:] //= 4  # darker pictures must give different features
    return frames


@pytest.fixture(scope="module")
def small():
    return build_backbone("mobilenetv3small", "none")


def test_random_weights_are_the_same_network_in_every_build(small) -> None:
    again = build_backbone("mobilenetv3small", "none")
    np.testing.assert_array_equal(small.embed(_frames()), again.embed(_frames()))


def test_random_network_gives_usable_float16_features(small) -> None:
    features = small.embed(_frames())
    assert features.dtype == np.float16 and features.shape == (6, 576)
    assert np.isfinite(features).all()
    # Without BatchNorm calibration these are ~1e-10 and round to zero in float16.
    assert features.astype(np.float32).std() > 0.1
    assert np.abs(features[:3].astype(np.float32) - features[3:]).mean() > 0.01


def test_weights_from_a_local_file(small, tmp_path: Path) -> None:
    """The file's weights are the ones used: they differ from the seeded random network's.

    Every weight is scaled by its own factor in [0.7, 1.3] (positive, so BatchNorm variances
    stay valid) in a clone, leaving the shared fixture as it is.
    """
    import keras

    rng = np.random.default_rng(11)
    clone = keras.models.clone_model(small.model)
    clone.set_weights(
        [w * rng.uniform(0.7, 1.3, np.shape(w)).astype(w.dtype) for w in small.model.get_weights()]
    )
    perturbed = dataclasses.replace(small, model=clone)
    weights_file = tmp_path / "mobilenet.weights.h5"
    clone.save_weights(weights_file)
    loaded = build_backbone("mobilenetv3small", str(weights_file))
    got = loaded.embed(_frames()).astype(np.float32)
    want = perturbed.embed(_frames()).astype(np.float32)
    seeded = small.embed(_frames()).astype(np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    assert np.abs(want - seeded).mean() > 0.05 * np.abs(seeded).mean()  # tells them apart
    assert not np.allclose(got, seeded, rtol=1e-3, atol=1e-3)


def test_weights_resolution_and_errors(tmp_path: Path) -> None:
    assert resolve_weights("none") is None
    assert resolve_weights("imagenet") == "imagenet"  # Keras fetches these by name, once
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        resolve_weights(str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="resnet18"):
        build_backbone("resnet18", "none")
    assert set(BACKBONE_NAMES) == {
        "resnet152",
        "resnet50",
        "vgg16",
        "efficientnetb0",
        "mobilenetv3small",
    }


@pytest.mark.parametrize(("name", "dim"), [("efficientnetb0", 1280), ("vgg16", 4096)])
def test_feature_dimensions(name: str, dim: int) -> None:
    backbone = build_backbone(name, "none")
    assert backbone.dim == dim
    assert backbone.embed(_frames()[:2]).shape == (2, dim)


def test_vgg16_layer_picks_the_cut_and_other_backbones_ignore_it() -> None:
    from moviegenre.features.backbones import backbone_params

    fc1 = build_backbone("vgg16", "none")
    assert fc1.model.layers[-1].name == "fc1" and fc1.dim == 4096
    fc2 = build_backbone("vgg16", "none", "fc2")
    assert fc2.model.layers[-1].name == "fc2"
    frames = _frames()[:2]
    # same random network: fc2 = relu(fc1 @ W + b), so the cuts differ but are related
    dense = fc2.model.get_layer("fc2")
    kernel, bias = (np.asarray(w) for w in dense.get_weights())
    a1 = fc1.embed(frames).astype(np.float32)
    np.testing.assert_allclose(
        fc2.embed(frames).astype(np.float32),
        np.maximum(a1 @ kernel + bias, 0),
        rtol=2e-2,
        atol=2e-2 * float(np.abs(a1 @ kernel).max()),
    )
    with pytest.raises(ValueError, match="fc1"):
        build_backbone("vgg16", "none", "block5_pool")
    # the layer key is a rule parameter for vgg16 only: no re-extraction for the others
    cfg = {"name": "mobilenetv3small", "weights": "none", "batch_size": 8, "layer": "fc2"}
    assert "layer" not in backbone_params(cfg)
    assert backbone_params({**cfg, "name": "vgg16"})["layer"] == "fc2"
