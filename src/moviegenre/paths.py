"""Where every stage reads and writes: one place, shared by Snakemake rules and DVC stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RESULTS = Path("results")
FEATURES = RESULTS / "features"
AUDIO_FEATURES = FEATURES / "audio"
VISUAL_FEATURES = FEATURES / "visual"
LOGS = RESULTS / "logs"
EXTRACTION_REPORT = RESULTS / "extraction_report.csv"
EXTRACTION_SUMMARY = RESULTS / "extraction_summary.json"
DATASET = RESULTS / "dataset"
MODELS = Path("models")

# Features imported from LMTD-9's published ResNet-152 pickle (see `moviegenre import-lmtd`).
LMTD_VISUAL_NAME = "lmtd9_resnet152"


def visual_features_dir(config: dict[str, Any]) -> Path:
    """The visual shards a run uses: imported LMTD-9 features, or the configured backbone's."""
    data = config["data"]
    if data["source"] == "lmtd9" and (data.get("lmtd") or {}).get("features_pickle"):
        return VISUAL_FEATURES / LMTD_VISUAL_NAME
    return VISUAL_FEATURES / config["backbone"]["name"]


def visual_shard(config: dict[str, Any], shard: str) -> Path:
    return visual_features_dir(config) / f"shard-{shard}.parquet"


def audio_shard(shard: str) -> Path:
    return AUDIO_FEATURES / f"shard-{shard}.parquet"


def status_file(features_file: Path) -> Path:
    """The per-trailer status CSV that sits beside a shard."""
    return features_file.with_name(features_file.stem + ".status.csv")
