"""The audio vector's layout (length, column names), stated once and importable without librosa.

Extraction, the data set, the audio CLI and the bundle read the length from here; the
computation itself is features.audio.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: pooled positions per MFCC coefficient (docs/method.md: 5)
N_POSITIONS = 5


def audio_feature_names(n_mfcc: int = 13, lpc_order: int = 9) -> list[str]:
    """Column names in vector order: delta_cXX_pP, mfcc_cXX_pP, lpc_0 (gain) .. lpc_<order>."""
    pooled = [f"c{c:02d}_p{p}" for c in range(n_mfcc) for p in range(N_POSITIONS)]
    return (
        [f"delta_{name}" for name in pooled]
        + [f"mfcc_{name}" for name in pooled]
        + [f"lpc_{i}" for i in range(lpc_order + 1)]
    )


def audio_dim(audio: Mapping[str, Any]) -> int:
    """Length of the vector params.yaml's `audio` section gives (140 for 13 MFCCs, LPC 9)."""
    return 2 * N_POSITIONS * int(audio["n_mfcc"]) + int(audio["lpc_order"]) + 1


#: the length with docs/method.md's settings (13 MFCCs, LPC order 9)
AUDIO_DIM = audio_dim({"n_mfcc": 13, "lpc_order": 9})
