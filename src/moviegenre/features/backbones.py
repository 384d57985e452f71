"""ImageNet backbones from keras.applications, turned into per-frame embedders.

Built once per shard job: loading a ResNet-152 costs seconds, a trailer's 116 frames
cost a fraction of that on a GPU.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: (height, width) of the frames every backbone takes (docs/method.md: 224 x 224)
INPUT_SIZE = (224, 224)
#: the frame size a visual shard and the bundle record when nothing else is said
DEFAULT_INPUT_SIZE = INPUT_SIZE
# weights "none": the same random network in every process (shards must share one network).
RANDOM_WEIGHTS_SEED = 0

#: ``backbone.layer`` unset: where vgg16 is cut (docs/method.md: fc1, as the seed's)
DEFAULT_VGG16_LAYER = "fc1"

# name -> (constructor, preprocess module, cut layer or None for global-average pooling, dim)
_SPECS: dict[str, tuple[str, str, str | None, int]] = {
    "resnet152": ("ResNet152", "resnet", None, 2048),
    "resnet50": ("ResNet50", "resnet", None, 2048),
    "vgg16": ("VGG16", "vgg16", DEFAULT_VGG16_LAYER, 4096),
    "efficientnetb0": ("EfficientNetB0", "efficientnet", None, 1280),
    "mobilenetv3small": ("MobileNetV3Small", "mobilenet_v3", None, 576),
}
BACKBONE_NAMES: tuple[str, ...] = tuple(_SPECS)
#: ``backbone.layer``: where vgg16 is cut. The seed's script pops the last two layers
#: (predictions, fc2), so its features are fc1's; both are 4096-d
VGG16_LAYERS = ("fc1", "fc2")
#: where vgg16 is cut when ``backbone.layer`` is not given (the seed's fc1)
DEFAULT_VGG16_LAYER = "fc1"


def backbone_params(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The backbone settings that change its features: ``layer`` only counts for vgg16.

    Used as the visual rule's parameter, so changing ``backbone.layer`` re-extracts
    vgg16 features and nothing else.
    """
    params = dict(cfg)
    if params.get("name") != "vgg16":
        params.pop("layer", None)
    return params


@dataclass
class Backbone:
    """A frame embedder: uint8 RGB frames [B, 224, 224, 3] in, features [B, dim] out."""

    name: str
    weights: str
    dim: int
    model: object
    preprocess: Callable[[np.ndarray], np.ndarray]

    def embed(self, frames: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Features for a stack of frames, as float16 (storage precision)."""
        out = np.empty((len(frames), self.dim), dtype=np.float16)
        for start in range(0, len(frames), batch_size):
            chunk = frames[start : start + batch_size]
            out[start : start + len(chunk)] = self.embed_batch(chunk, batch_size)
        return out

    def embed_batch(self, chunk: np.ndarray, batch_size: int) -> np.ndarray:
        """Features of at most ``batch_size`` frames in one network call, as float16.

        A short chunk is padded with black frames to ``batch_size``: every call has one
        shape, so the network is traced once and a frame's features never depend on how
        many frames shared its call (features/embedding.py relies on that).
        """
        n = len(chunk)
        if n > batch_size:
            raise ValueError(f"{n} frames do not fit in one batch of {batch_size}")
        if n < batch_size:
            chunk = np.concatenate(
                [chunk, np.zeros((batch_size - n, *chunk.shape[1:]), chunk.dtype)]
            )
        batch = self.preprocess(chunk.astype(np.float32))
        # predict_on_batch runs a compiled function: ~3x the eager call's throughput.
        return np.asarray(self.model.predict_on_batch(batch))[:n].astype(np.float16)


def resolve_weights(weights: str) -> str | None:
    """'imagenet' (Keras fetches once into ~/.keras/models), 'none' (random) or a local file."""
    if weights == "none":
        return None
    if weights == "imagenet":
        return "imagenet"
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights file not found: {path}")
    return str(path)


def build_backbone(name: str, weights: str = "none", layer: str | None = None) -> Backbone:
    """The named keras.applications network, cut at its pooled (or vgg16's fc1/fc2) features.

    ``layer`` (``backbone.layer``) picks vgg16's cut, default fc1; the pooled backbones
    ignore it.
    """
    if name not in _SPECS:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")
    constructor_name, preprocess_module, cut_layer, dim = _SPECS[name]
    if name == "vgg16" and layer is not None:
        if layer not in VGG16_LAYERS:
            raise ValueError(f"vgg16 layer must be one of {VGG16_LAYERS}, got {layer!r}")
        cut_layer = layer
    import keras

    constructor = getattr(keras.applications, constructor_name)
    keras_weights = resolve_weights(weights)
    if keras_weights is None:
        keras.utils.set_random_seed(RANDOM_WEIGHTS_SEED)
    shape = (*INPUT_SIZE, 3)
    if cut_layer is None:
        kwargs = {"include_top": False, "pooling": "avg"}
        if name == "mobilenetv3small":
            kwargs["include_preprocessing"] = True
        model = constructor(weights=keras_weights, input_shape=shape, **kwargs)
    else:
        full = constructor(weights=keras_weights, input_shape=shape, include_top=True)
        model = keras.Model(
            full.input, full.get_layer(cut_layer).output, name=f"{name}_{cut_layer}"
        )
    preprocess = getattr(keras.applications, preprocess_module).preprocess_input
    if keras_weights is None:
        calibrate_batchnorm(model, preprocess)
    return Backbone(name=name, weights=weights, dim=dim, model=model, preprocess=preprocess)


def calibrate_batchnorm(
    model: object, preprocess: Callable, seed: int = RANDOM_WEIGHTS_SEED
) -> int:
    """Set BatchNorm statistics of a randomly initialised network from a fixed image batch.

    Untrained BatchNorm layers hold mean 0 / variance 1, so activations of a deep random
    network vanish (MobileNetV3: ~1e-10, zero in float16). One training-mode pass over a
    seeded batch of smooth random images, with momentum 0, makes each layer's statistics
    match its real input scale; the batch is fixed, so every process gets the same network.
    Returns the number of BatchNorm layers set.
    """
    import keras

    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (16, INPUT_SIZE[0] // 16, INPUT_SIZE[1] // 16, 3))
    images = np.repeat(np.repeat(coarse, 16, axis=1), 16, axis=2).astype(np.float32)
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    model(preprocess(images), training=True)
    for layer, momentum in zip(layers, momenta, strict=True):
        layer.momentum = momentum
    return len(layers)
