"""End to end: the real `snakemake` on tiny synthetic trailers in a temporary repo copy.

Extract everything, run again (nothing to do), add one trailer (only its shard's jobs),
change a feature option or a feature module (only the shards it touches), and a real run
of an audio-only change that leaves the visual shards as they were. Tests that change files
work on their own copy of the shared extraction, so the tests run in any order.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import copy_repo, run, set_params, tool_env

from moviegenre.features.shards import (
    group_by_shard,
    read_audio_shard,
    read_metadata,
    read_visual_shard,
)

pytestmark = pytest.mark.slow
SNAKEMAKE = ["snakemake", "--cores", "2", "--resources", "gpu=1"]
N_TRAILERS = 12


def _jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts per rule from snakemake -n's 'Job stats' table."""
    table = dry_run_output.split("Job stats:")[-1]
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("snake") / "repo")
    run(["moviegenre", "synth", "--count", str(N_TRAILERS)], repo)
    result = run(SNAKEMAKE, repo)
    assert "trailers" in result.stderr  # the onsuccess summary
    return repo


def test_extracts_every_trailer_into_shards(extracted: Path) -> None:
    report = pd.read_csv(
        extracted / "results/extraction_report.csv", dtype={"trailer_id": str, "shard": str}
    )
    assert len(report) == N_TRAILERS
    assert (report["visual_status"] == "ok").all() and (report["audio_status"] == "ok").all()
    summary = json.loads((extracted / "results/extraction_summary.json").read_text())
    assert summary["stages"]["visual"]["ok"] == N_TRAILERS

    shards = group_by_shard(report["trailer_id"].tolist(), 3)
    visual_dir = extracted / "results/features/visual/mobilenetv3small"
    seen = []
    for shard, ids in shards.items():
        vis = read_visual_shard(visual_dir / f"shard-{shard}.parquet")
        assert vis.trailer_ids == ids  # membership by hash of the id
        assert vis.features.dtype == "float16" and vis.features.shape[1] == 576
        assert all(vis.offsets[i + 1] - vis.offsets[i] == 116 for i in range(len(ids)))
        meta = read_metadata(visual_dir / f"shard-{shard}.parquet")
        assert meta["backbone"] == "mobilenetv3small" and meta["weights"] == "none"
        assert meta["frames"] == {"start_s": 5.0, "end_s": 120.0, "count": 116, "step_ms": "exact"}
        a_ids, vectors, silent, a_meta = read_audio_shard(
            extracted / f"results/features/audio/shard-{shard}.parquet"
        )
        assert a_ids == ids and vectors.shape == (len(ids), 140) and not silent.any()
        # the report names the shard each trailer's features went to (the data set reads it)
        assert sorted(report.loc[report["shard"] == shard, "trailer_id"]) == ids
        assert a_meta["audio"]["pooling"] == "seed"
        seen += ids
    assert sorted(seen) == sorted(report["trailer_id"])
    for rule_log in ("visual/mobilenetv3small", "audio"):
        assert list((extracted / "results/logs" / rule_log).glob("shard-*.log"))


def test_second_run_does_nothing(extracted: Path) -> None:
    dry = run([*SNAKEMAKE, "-n"], extracted)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    again = run(SNAKEMAKE, extracted)
    assert "Nothing to be done" in again.stdout + again.stderr


def own_copy(extracted: Path, tmp_path: Path) -> Path:
    """A copy of the shared extraction for a test that changes files (times kept)."""
    repo = tmp_path / "repo"
    shutil.copytree(extracted, repo, symlinks=True)
    return repo


def test_adding_a_trailer_reruns_only_its_shard(extracted: Path, tmp_path: Path) -> None:
    import numpy as np

    from moviegenre.data.synth import SynthConfig, write_trailer

    extracted = own_copy(extracted, tmp_path)  # the shared fixture keeps its 12 trailers
    videos = extracted / "data/synthetic/trailers"
    new_id = "900001"
    config = SynthConfig(count=1, duration_s=8.0, width=64, height=48, fps=6)
    genres = np.zeros(9, dtype=np.uint8)
    genres[5] = 1
    write_trailer(videos / f"{new_id}.mp4", genres, config, np.random.default_rng(1))

    ids = [p.stem for p in videos.glob("*.mp4")]
    new_shard = group_by_shard([new_id], 3)
    (shard,) = new_shard
    visual_dir = extracted / "results/features/visual/mobilenetv3small"
    before = {p.name: p.stat().st_mtime_ns for p in visual_dir.glob("shard-*.parquet")}

    dry = run([*SNAKEMAKE, "-n"], extracted)
    jobs = _jobs(dry.stdout + dry.stderr)
    assert jobs.get("visual_shard") == 1 and jobs.get("audio_shard") == 1, jobs
    assert f"shard-{shard}" in dry.stdout + dry.stderr

    run(SNAKEMAKE, extracted)
    after = {p.name: p.stat().st_mtime_ns for p in visual_dir.glob("shard-*.parquet")}
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {f"shard-{shard}.parquet"}
    vis = read_visual_shard(visual_dir / f"shard-{shard}.parquet")
    assert new_id in vis.trailer_ids
    report = pd.read_csv(extracted / "results/extraction_report.csv", dtype={"trailer_id": str})
    assert sorted(report["trailer_id"]) == sorted(ids)


@pytest.mark.parametrize(
    ("updates", "expected"),
    [
        ({"audio": {"resampler": "kaiser_best"}}, {"audio_shard"}),
        ({"frames": {"step_ms": "integer"}}, {"visual_shard"}),
        ({"backbone": {"layer": "fc2"}}, set()),  # vgg16 only: mobilenetv3small ignores it
    ],
    ids=["audio.resampler", "frames.step_ms", "backbone.layer"],
)
def test_an_option_reruns_only_the_shards_it_touches(extracted: Path, updates, expected) -> None:
    params = extracted / "params.yaml"
    original = params.read_text()
    try:
        set_params(extracted, updates)
        dry = run([*SNAKEMAKE, "-n"], extracted)
    finally:
        params.write_text(original)
    jobs = _jobs(dry.stdout + dry.stderr)
    shard_rules = {rule for rule in jobs if rule.endswith("_shard")}
    assert shard_rules == expected, jobs
    n_shards = len(list((extracted / "results/features/audio").glob("shard-*.parquet")))
    assert all(jobs[rule] == n_shards for rule in expected), jobs


def _shard_files(repo: Path) -> dict[str, tuple[int, bytes]]:
    """(mtime, bytes) of every shard file, visual and audio."""
    files = sorted((repo / "results/features").rglob("shard-*.parquet"))
    return {str(p.relative_to(repo)): (p.stat().st_mtime_ns, p.read_bytes()) for p in files}


def test_an_audio_only_parameter_rewrites_audio_shards_and_keeps_visual(
    extracted: Path, tmp_path: Path
) -> None:
    """A real run, not a dry run: visual shards stay byte for byte with their times."""
    repo = own_copy(extracted, tmp_path)
    before = _shard_files(repo)
    set_params(repo, {"audio": {"resampler": "kaiser_best"}})
    run(SNAKEMAKE, repo)
    after = _shard_files(repo)
    assert sorted(after) == sorted(before)
    visual = {k for k in before if k.startswith("results/features/visual/")}
    audio = set(before) - visual
    assert visual and audio
    assert all(after[k] == before[k] for k in visual)
    assert all(after[k][0] != before[k][0] for k in audio)  # every audio shard rewritten
    for name in audio:
        meta = read_metadata(repo / name)
        assert meta["audio"]["resampler"] == "kaiser_best", meta


@pytest.mark.parametrize(
    ("module", "old", "new", "expected"),
    [
        ("extract.py", "import time\n", "import time  # an edited comment\n", set()),
        ("extract.py", '"%s: %d/%d trailers', '"%s: %d of %d trailers', set()),  # a log line
        (
            "audio.py",
            "delta = librosa.feature.delta(",
            "delta = 2 * librosa.feature.delta(",
            {"audio_shard"},
        ),
        ("sound.py", "import av\n", "import av\n\n_EDITED = 1\n", {"audio_shard"}),
        (
            "timestamps.py",
            "import numpy as np\n",
            "import numpy as np\n\n_EDITED = 1\n",
            {"visual_shard"},
        ),
        ("decode.py", "import av\n", "import av\n\n_EDITED = 1\n", {"audio_shard", "visual_shard"}),
    ],
    ids=["extract-comment", "extract-log", "audio-maths", "sound", "timestamps", "decode"],
)
def test_a_feature_code_change_reruns_the_shards_it_touches(
    extracted: Path, tmp_path: Path, module: str, old: str, new: str, expected: set[str]
) -> None:
    """Editing a feature module reruns the shards of the kinds whose values it can change
    (features/code_version.py): a comment or a log line reruns nothing.

    Snakemake runs with the copy's own `src` first on sys.path, so the copy's edit is the
    code it hashes (checked: before the edit there is nothing to do).
    """
    repo = own_copy(extracted, tmp_path)
    env = {**tool_env(), "PYTHONPATH": str(repo / "src")}

    def dry_run() -> str:
        result = subprocess.run(
            [*SNAKEMAKE, "-n"], cwd=repo, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return result.stdout + result.stderr

    assert "Nothing to be done" in dry_run()
    source = repo / "src/moviegenre/features" / module
    text = source.read_text()
    assert old in text, f"{module} no longer holds {old!r}: pick another edit"
    source.write_text(text.replace(old, new, 1))
    jobs = _jobs(dry_run())
    assert {rule for rule in jobs if rule.endswith("_shard")} == expected, jobs
    n_shards = len(list((repo / "results/features/audio").glob("shard-*.parquet")))
    assert all(jobs[rule] == n_shards for rule in expected), jobs
