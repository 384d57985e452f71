"""visual_shard's cores and GPU slots with the real Snakemake (features/cores.py, gpu_slots.py).

- the thread policy: all of --cores alone, less extraction.audio_share beside audio jobs,
  split among the GPU jobs of --resources gpu=N, extraction.cluster_cores on a cluster;
- `snakemake -n` shows those threads (and the Slurm profile's dry run the cluster cores,
  which the plugin turns into --cpus-per-task);
- a real run with --resources gpu=2: the two jobs that run at once log different GPU
  slots, the third waits for one of them and takes its freed slot; a job started with
  --cores 8 logs "decode workers: 8" on this 2-core machine.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from helpers import copy_repo, run

from moviegenre.features.cores import visual_shard_threads

EXTRACTION = {"audio_share": 0.25, "cluster_cores": 12}


def _threads(cores, cluster=False, gpu=None, audio=False, visual=4):
    resources = {} if gpu is None else {"gpu": gpu}
    return visual_shard_threads(cores, cluster, resources, EXTRACTION, audio, visual)


def test_thread_policy():
    assert _threads(8) == 8  # alone: every core
    assert _threads(8, audio=True) == 6  # 2 of 8 left to the audio shards
    assert _threads(2, audio=True) == 2  # 0.25 of 2 rounds to 0: as before on 2 cores
    assert _threads(8, gpu=2) == 4  # two GPU jobs at once share the cores
    assert _threads(8, gpu=4, visual=1) == 8  # ... unless one shard is left
    assert _threads(16, gpu=2, audio=True) == 6
    assert _threads(8, cluster=True) == 12  # a cluster: the configured cores per job
    assert _threads(None) == 12


def _dry_threads(repo: Path, *args: str) -> list[int]:
    """The threads of each visual_shard job in `snakemake -n`'s plan (1 is not printed)."""
    out = run(["snakemake", "-n", *args], repo).stdout
    blocks = re.findall(r"^rule visual_shard:\n((?:    .*\n)+)", out, re.M)
    assert blocks, out[-3000:]
    return [int(m[1]) if (m := re.search(r"threads: (\d+)", b)) else 1 for b in blocks]


def _visual_targets(repo: Path) -> list[str]:
    out = run(["snakemake", "-n", "--cores", "2"], repo).stdout
    return sorted(set(re.findall(r"output: (results/features/visual/\S+\.parquet)", out)))


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy with 7 tiny trailers in 3 shards (1, 5 and 1 trailers), one per test:
    each test starts from nothing extracted, whatever ran before it."""
    params = {"extraction": {"audio_share": 0.25}}  # 2 of 8 cores for audio while it runs
    repo = copy_repo(tmp_path_factory.mktemp("cores") / "repo", params)
    run(["moviegenre", "synth", "--count", "7"], repo)
    return repo


@pytest.mark.slow
def test_dry_run_threads_follow_cores_gpus_and_cluster(repo: Path):
    assert _dry_threads(repo, "--cores", "8") == [6, 6, 6]  # audio shards still to do
    # the Slurm profile: extraction.cluster_cores (2 in the tests' params) per visual job
    assert _dry_threads(repo, "--workflow-profile", "profiles/slurm") == [2, 2, 2]
    _audio_done(repo)  # the visual jobs run alone
    assert _dry_threads(repo, "--cores", "8") == [8, 8, 8]
    assert _dry_threads(repo, "--cores", "8", "--resources", "gpu=2") == [4, 4, 4]


def _audio_done(repo: Path) -> None:
    """Stand-in audio shards: the visual threads only look at whether they exist."""
    audio = repo / "results/features/audio"
    audio.mkdir(parents=True, exist_ok=True)
    for shard in ("0000", "0001", "0002"):
        (audio / f"shard-{shard}.parquet").touch()
        (audio / f"shard-{shard}.status.csv").touch()


def _log_events(log: Path) -> tuple[int, int, datetime, datetime]:
    """(GPU slot, decode workers, time the slot was taken, time of the last line)."""
    text = log.read_text()
    slot = re.search(r"^(\S+) INFO .*GPU slot (\d+) of 2", text, re.M)
    workers = re.search(r"decode workers: (\d+)", text)
    assert slot and workers, text
    stamps = re.findall(r"^(\d\d:\d\d:\d\d) ", text, re.M)
    taken = datetime.strptime(slot[1], "%H:%M:%S")
    return int(slot[2]), int(workers[1]), taken, datetime.strptime(stamps[-1], "%H:%M:%S")


@pytest.mark.slow
def test_concurrent_visual_jobs_get_their_own_gpu_slots(repo: Path, tmp_path: Path):
    env = {"MOVIEGENRE_GPU_LOCK_DIR": str(tmp_path / "gpu-locks")}
    _audio_done(repo)
    targets = _visual_targets(repo)
    assert len(targets) == 3
    cmd = ["snakemake", *targets, "--cores", "8", "--resources", "gpu=2"]
    run(cmd, repo, env=env, timeout=1200)
    logs = sorted((repo / "results/logs/visual/mobilenetv3small").glob("shard-*.log"))
    events = sorted((_log_events(log) for log in logs), key=lambda e: e[2])
    assert all(workers == 4 for _, workers, _, _ in events)  # 8 cores, two GPU jobs
    (slot_a, _, _, end_a), (slot_b, _, start_b, end_b), (slot_c, _, start_c, _) = events
    assert start_b <= min(end_a, end_b)  # the first two ran at the same time ...
    assert {slot_a, slot_b} == {0, 1}  # ... each on its own slot
    # the third waited for one of them to end and took a slot so freed
    freed = {slot for slot, end in ((slot_a, end_a), (slot_b, end_b)) if end <= start_c}
    assert freed and slot_c in freed

    # alone, with --cores 8 on this 2-core machine: 8 decode workers
    shard = targets[0]
    run(["snakemake", shard, "--cores", "8", "--forcerun", "visual_shard"], repo, env=env)
    log = repo / "results/logs/visual/mobilenetv3small" / Path(shard).with_suffix(".log").name
    assert "decode workers: 8, TensorFlow threads: 8" in log.read_text()
