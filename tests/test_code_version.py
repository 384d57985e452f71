"""The feature-code hash re-extracts the audio shards, and only them, when sound code changes.

Snakemake reruns a shard when its rule's ``code`` parameter (features/code_version.py)
changes; that only works if every module the audio path runs is hashed for ``audio``,
and the sound-only modules are not hashed for ``visual`` (which the visual path must not
load either).
"""

from __future__ import annotations

import json
import sys

from conftest import run
from media import write_test_video

from moviegenre.features.code_version import _MODULES, feature_code_version

SOUND_ONLY = {"sound.py", "resample.py", "audio.py"}

_TRACE = """
import json, sys
from pathlib import Path
from moviegenre.features import extract, trailer

ran = set()

def profile(frame, event, arg):
    code = frame.f_code
    if event == "call" and code.co_name != "<module>" and "moviegenre" in code.co_filename:
        ran.add(Path(code.co_filename))

kind, video, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
sys.setprofile(profile)
if kind == "audio":
    from moviegenre.features import isolation  # run the calls here, where the trace sees them
    isolation.IsolatedWorker.call = lambda self, path, func, *a, **k: func(*a, **k)
    cfg = {"sample_rate": 22050, "offset_s": 0.5, "n_mfcc": 13, "lpc_order": 9,
           "pooling": "seed", "resampler": "kaiser_best"}
    extract.extract_audio_shard({"a": video}, out / "a.parquet", out / "a.csv", cfg)
    cfg["resampler"] = "swr"
    extract.extract_audio_shard({"a": video}, out / "b.parquet", out / "b.csv", cfg)
else:
    frames = {"start_s": 0.5, "end_s": 2.0, "count": 2, "step_ms": "exact"}
    trailer.decode_for_embedding(video, frames, 1.0)
sys.setprofile(None)
print(json.dumps(sorted(p.name for p in ran if p.parent.name == "features")))
"""


def _modules_used(kind: str, video, cwd) -> set[str]:
    """Feature modules whose functions run (not just load) for ``kind``'s shard work."""
    cmd = [sys.executable, "-c", _TRACE, kind, str(video), str(cwd)]
    result = run(cmd, cwd=cwd, timeout=300)
    return set(json.loads(result.stdout.strip().splitlines()[-1])) - {"code_version.py"}


def test_audio_hash_covers_every_module_the_audio_path_runs(tmp_path):
    video = write_test_video(tmp_path / "a.mp4", 2.0, size=(32, 32), sample_rate=44100)
    used = _modules_used("audio", video, tmp_path)
    assert SOUND_ONLY <= used
    assert used <= set(_MODULES["audio"]), used - set(_MODULES["audio"])


def test_visual_path_and_hash_leave_the_sound_code_out(tmp_path):
    video = write_test_video(tmp_path / "v.mp4", 2.0, size=(32, 32))
    used = _modules_used("visual", video, tmp_path)
    assert not used & SOUND_ONLY, used & SOUND_ONLY
    assert used <= set(_MODULES["visual"]), used - set(_MODULES["visual"])
    assert not set(_MODULES["visual"]) & SOUND_ONLY


def test_hash_is_stable_and_differs_per_kind():
    assert feature_code_version("audio") == feature_code_version("audio")
    assert feature_code_version("audio") != feature_code_version("visual")
