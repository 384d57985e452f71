"""What a feature shard records about how it was made: written with every shard (the
extraction jobs, the LMTD-9 import) and checked again by the data set and at prediction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moviegenre import __version__
from moviegenre.features.backbones import DEFAULT_VGG16_LAYER, INPUT_SIZE


def visual_metadata(backbone: Mapping[str, Any], frames: Mapping[str, Any], dim: int) -> dict:
    """What a visual shard records about how it was made (checked again at prediction)."""
    meta = {
        "kind": "visual",
        "backbone": backbone["name"],
        "weights": str(backbone["weights"]),
        "dim": dim,
        "input_size": list(INPUT_SIZE),
        "frames": dict(frames),
        "moviegenre_version": __version__,
    }
    if backbone["name"] == "vgg16":  # backbone.layer: where vgg16 was cut
        meta["layer"] = str(backbone.get("layer") or DEFAULT_VGG16_LAYER)
    return meta


def audio_metadata(audio: Mapping[str, Any], dim: int) -> dict:
    """What an audio shard records about how it was made: the `audio` settings."""
    return {"kind": "audio", "dim": dim, "audio": dict(audio), "moviegenre_version": __version__}
