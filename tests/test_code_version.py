"""The feature code version follows values, not bytes (features/code_version.py).

Snakemake reruns a shard when its rule's ``code`` parameter changes, and the feature store
keys trailers on it, so: every module a shard job runs is either hashed for its modality
or declared unable to change a value (traced on a real shard job); edits that cannot
change a value (comments, docstrings, annotations, logging) keep the version; edits that
can change it, for the modality whose code they are in only. Golden values of the whole
shard path under the recorded version are tests/test_feature_golden.py.
"""

from __future__ import annotations

import json
import sys
from importlib import resources

import pytest
from helpers import run
from media import write_test_video

from moviegenre.features import code_version
from moviegenre.features.code_version import (
    NEUTRAL_MODULES,
    VALUE_MODULES,
    canonical_source,
    feature_code_version,
)

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
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_every_module_the_audio_path_runs_is_hashed_or_neutral(tmp_path):
    video = write_test_video(tmp_path / "a.mp4", 2.0, size=(32, 32), sample_rate=44100)
    used = _modules_used("audio", video, tmp_path)
    assert SOUND_ONLY <= used
    unaccounted = used - set(VALUE_MODULES["audio"]) - set(NEUTRAL_MODULES)
    assert not unaccounted, unaccounted


def test_the_visual_path_and_hash_leave_the_sound_code_out(tmp_path):
    video = write_test_video(tmp_path / "v.mp4", 2.0, size=(32, 32))
    used = _modules_used("visual", video, tmp_path)
    assert not used & SOUND_ONLY, used & SOUND_ONLY
    unaccounted = used - set(VALUE_MODULES["visual"]) - set(NEUTRAL_MODULES)
    assert not unaccounted, unaccounted
    assert not set(VALUE_MODULES["visual"]) & SOUND_ONLY


def test_no_module_is_both_value_and_neutral():
    for kind, modules in VALUE_MODULES.items():
        assert not set(modules) & set(NEUTRAL_MODULES), kind


def test_version_is_stable_and_differs_per_kind():
    assert feature_code_version("audio") == feature_code_version("audio")
    assert feature_code_version("audio") != feature_code_version("visual")


def _source(name: str) -> str:
    return resources.files("moviegenre.features").joinpath(name).read_text("utf-8")


def _version_with(kind: str, monkeypatch, name: str, text: str) -> str:
    """The version of ``kind`` had module ``name`` the source ``text``."""
    real = code_version.canonical_source
    original = _source(name)
    monkeypatch.setattr(
        code_version,
        "canonical_source",
        lambda source: real(text if source == original else source),
    )
    try:
        return feature_code_version(kind)
    finally:
        monkeypatch.setattr(code_version, "canonical_source", real)


AUDIO_MATHS = ("delta = librosa.feature.delta(", "delta = 2 * librosa.feature.delta(")


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("audio.py", "import librosa\n", "import librosa  # an edited comment\n"),
        ("audio.py", '"""The 140-value audio vector', '"""The 140 values of the audio vector'),
        ("decode.py", "import av\n", "import av\n\n\n# a new comment\n"),
        ("sound.py", ") -> np.ndarray:", ") -> np.ndarray | None:"),
    ],
    ids=["comment", "module docstring", "blank lines and comment", "return annotation"],
)
def test_edits_that_cannot_change_values_keep_both_versions(monkeypatch, name, old, new):
    text = _source(name)
    assert old in text, f"{name} no longer holds {old!r}: pick another edit"
    edited = text.replace(old, new, 1)
    assert edited != text
    for kind in ("visual", "audio"):
        assert _version_with(kind, monkeypatch, name, edited) == feature_code_version(kind)


def test_the_audio_maths_changes_the_audio_version_only(monkeypatch):
    text = _source("audio.py")
    assert AUDIO_MATHS[0] in text
    edited = text.replace(*AUDIO_MATHS)
    assert _version_with("audio", monkeypatch, "audio.py", edited) != feature_code_version("audio")
    assert _version_with("visual", monkeypatch, "audio.py", edited) == feature_code_version(
        "visual"
    )


def test_a_sampling_edit_changes_the_visual_version_only(monkeypatch):
    text = _source("timestamps.py")
    edited = text + "\nSTEP_ROUNDING = 2\n"
    assert _version_with("visual", monkeypatch, "timestamps.py", edited) != feature_code_version(
        "visual"
    )
    assert _version_with("audio", monkeypatch, "timestamps.py", edited) == feature_code_version(
        "audio"
    )


def test_the_epoch_changes_its_kind_only(monkeypatch):
    before = {kind: feature_code_version(kind) for kind in ("visual", "audio")}
    monkeypatch.setitem(code_version.EPOCH, "audio", code_version.EPOCH["audio"] + 1)
    assert feature_code_version("audio") != before["audio"]
    assert feature_code_version("visual") == before["visual"]


LOGGING_MODULE = """
import logging
log = logging.getLogger("x")

def f(x, items):
    {line}
    return x + 1
"""


@pytest.mark.parametrize(
    ("line", "same"),
    [
        ('log.info("x is %s, %d items", x, len(items))', True),
        ('log.warning(f"{x!r}: {items[0]}")', True),
        ('logging.debug("plain")', True),
        ('log.info("%s", items.pop())', False),  # the call changes `items`
        ('log.info("%s", next(iter(items)))', False),
        ('log.info("%s", (y := x))', False),
        ('other.info("%s", x)', False),  # not a logger
    ],
)
def test_only_side_effect_free_logging_calls_are_left_out(line: str, same: bool) -> None:
    without = canonical_source(LOGGING_MODULE.format(line="pass"))
    assert (canonical_source(LOGGING_MODULE.format(line=line)) == without) is same


def test_the_canonical_form_is_pinned() -> None:
    """The form hashed must not depend on the Python version (a new release adds optional
    AST fields, e.g. 3.12's type_params): a change here re-extracts every user's features."""
    source = 'def f(x: int = 2) -> int:\n    """Doc."""\n    return x * 2.5  # c\n'
    assert canonical_source(source) == (
        "Module(body=[FunctionDef(name='f',args=arguments(args=[arg(arg='x')],"
        "defaults=[Constant(value=2)]),body=[Return(value=BinOp(left=Name(id='x',ctx=Load()),"
        "op=Mult(),right=Constant(value=2.5)))])])"
    )
