"""The feature settings a bundle's models were trained with, as the extraction jobs take them.

Classification extracts with these and never with params.yaml: the store keys
(features/store.py) are then the ones the training extraction wrote, so an extracted
trailer is reused, and features never disagree with what the models learnt from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviegenre.bundle import Bundle, weights_kind
from moviegenre.features.backbones import backbone_params


@dataclass(frozen=True)
class FeatureSettings:
    """The `params:` of the extraction shard jobs (workflow/rules/visual.smk, audio.smk)."""

    backbone: dict[str, Any]
    frames: dict[str, Any]
    audio: dict[str, Any]
    extraction: dict[str, Any]


def _backbone(bundle: Bundle, weights_override: str | Path | None) -> dict[str, Any]:
    """params.yaml's backbone section as the training extraction had it (its store key),
    with the weights file where it is now; LMTD-9 pickle bundles get their ResNet-152."""
    manifest = bundle.manifest
    record = manifest["backbone"]
    recorded = (manifest.get("params") or {}).get("backbone") or {}
    if record.get("features_source") == "lmtd9_pickle" or not recorded:
        params = {
            "name": record["name"],
            "weights": record["weights"],
            "batch_size": int(record["batch_size"]),
        }
        if record.get("layer"):
            params["layer"] = record["layer"]
    else:
        params = dict(recorded)
    if weights_kind(str(record["weights"])) == "file":
        path = bundle.checked_weights_file(weights_override)
        # named as the training run named it while it is there: the name is in the store key
        if path != Path(str(params["weights"])):
            params["weights"] = str(path)
    return backbone_params(params)


def feature_settings(bundle: Bundle, backbone_weights: str | Path | None = None) -> FeatureSettings:
    """The bundle's recorded frames, backbone, audio and extraction settings."""
    manifest = bundle.manifest
    extraction: Mapping[str, Any] = manifest["extraction"]
    return FeatureSettings(
        backbone=_backbone(bundle, backbone_weights),
        frames=dict(manifest["frames"]),
        audio=dict(manifest["audio"]),
        extraction={"min_duration_s": float(extraction["min_duration_s"])},
    )
