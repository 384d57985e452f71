"""Golden feature values: the whole shard path's output may change only with the code version.

The code version (features/code_version.py) hashes only the value modules; a value-changing
edit anywhere else on the shard path (the driver features/extract.py, the Parquet writer,
the status rows) or a hashed one it failed to see would leave stale features in every
user's store. So a fixed trailer goes through the real shard jobs (decoding, the real
backbone with its seeded offline weights, the audio maths, Parquet written and read back),
and its values are held to tests/golden/feature_values.json *under the version recorded
there*. After an intended change of values (the version changes with it), rewrite the file:

    .venv/bin/python tests/test_feature_golden.py --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
GOLDEN = HERE / "golden" / "feature_values.json"
FRAMES = {"start_s": 0.5, "end_s": 3.0, "count": 3, "step_ms": "exact"}
BACKBONE = {"name": "mobilenetv3small", "weights": "none", "batch_size": 8}
EXTRACTION = {"decode_threads": 1, "min_duration_s": 1.0}
AUDIO = {
    "sample_rate": 22050,
    "offset_s": 0.5,
    "n_mfcc": 13,
    "lpc_order": 9,
    "pooling": "seed",
    "resampler": "soxr_hq",
}
N_DIRECTIONS = 8  # fixed random projections summarise each 576-value frame embedding
RTOL, ATOL = 2e-3, 2e-3


def _trailer(folder: Path) -> Path:
    from media import write_test_video

    return write_test_video(folder / "golden.mp4", 4.0, size=(48, 32), sample_rate=44100)


def compute(kind: str, folder: Path) -> dict:
    """The recorded values of ``kind`` for the fixed trailer, through the real shard job."""
    from moviegenre.features import extract, shards
    from moviegenre.features.code_version import feature_code_version

    video = _trailer(folder)
    out = folder / kind
    out.mkdir()
    if kind == "audio":
        extract.extract_audio_shard({"g": video}, out / "s.parquet", out / "s.csv", AUDIO)
        _, vectors, _, _ = shards.read_audio_shard(out / "s.parquet")
        values = vectors[0].astype(np.float64)
    else:
        extract.extract_visual_shard(
            {"g": video}, out / "s.parquet", out / "s.csv", FRAMES, BACKBONE, EXTRACTION
        )
        vis = shards.read_visual_shard(out / "s.parquet")
        feats = vis.of(0).astype(np.float64)
        directions = np.random.default_rng(0).standard_normal((feats.shape[1], N_DIRECTIONS))
        values = np.concatenate([vis.timestamps.astype(np.float64), (feats @ directions).ravel()])
    return {"code_version": feature_code_version(kind), "values": [float(v) for v in values]}


@pytest.mark.parametrize("kind", ["audio", "visual"])
def test_values_change_only_with_the_code_version(kind: str, tmp_path: Path) -> None:
    recorded = json.loads(GOLDEN.read_text())[kind]
    now = compute(kind, tmp_path)
    assert now["code_version"] == recorded["code_version"], (
        f"the {kind} feature code changed (version {recorded['code_version']} -> "
        f"{now['code_version']}): if its values were meant to change, rewrite "
        f"{GOLDEN.relative_to(HERE.parent)} (see this module's docstring)"
    )
    np.testing.assert_allclose(
        now["values"],
        recorded["values"],
        rtol=RTOL,
        atol=ATOL * float(np.max(np.abs(recorded["values"]))),
        err_msg=f"{kind} feature values changed but the code version did not notice: "
        "the change is in a module features/code_version.py does not hash (add it to "
        "VALUE_MODULES) or outside the code (bump EPOCH)",
    )


def main() -> None:
    import tempfile

    if sys.argv[1:] != ["--write"]:
        raise SystemExit(f"usage: {sys.argv[0]} --write")
    golden = {}
    for kind in ("audio", "visual"):
        with tempfile.TemporaryDirectory() as folder:
            golden[kind] = compute(kind, Path(folder))
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
