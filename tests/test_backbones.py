"""Backbones: dimensions, a reproducible offline network, and weights from a local file."""

from __future__ import annotations

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
    weights_file = tmp_path / "mobilenet.weights.h5"
    small.model.save_weights(weights_file)
    loaded = build_backbone("mobilenetv3small", str(weights_file))
    np.testing.assert_allclose(
        loaded.embed(_frames()).astype(np.float32),
        small.embed(_frames()).astype(np.float32),
        rtol=1e-3,
        atol=1e-3,
    )


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
