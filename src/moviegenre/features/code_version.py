"""A fingerprint of the code that computes features, for Snakemake's rerun triggers.

Snakemake reruns a job when its rule's script changes, not when the package modules it
calls change; passing this hash as a rule parameter makes a change to the feature code
recompute the features it affects.
"""

from __future__ import annotations

import hashlib
from importlib import resources

_MODULES = {
    # every module whose code runs in a shard job (tests/test_code_version.py traces them);
    # status.py writes each shard's status table
    "visual": (
        "decode.py",
        "timestamps.py",
        "backbones.py",
        "embedding.py",
        "trailer.py",
        "extract.py",
        "shards.py",
        "status.py",
    ),
    "audio": (
        "decode.py",
        "sound.py",
        "resample.py",
        "audio.py",
        "trailer.py",
        "extract.py",
        "shards.py",
        "status.py",
    ),
}


def feature_code_version(kind: str) -> str:
    """Short SHA-256 of the sources behind the `visual` or `audio` features."""
    digest = hashlib.sha256()
    package = resources.files("moviegenre.features")
    for name in _MODULES[kind]:
        digest.update(name.encode())
        digest.update(package.joinpath(name).read_bytes())
    return digest.hexdigest()[:16]
