"""Extraction on a real Slurm scheduler: scripts/local-slurm.sh starts a one-node cluster,
`snakemake --workflow-profile slurm` submits every shard as a Slurm job.

Checked: each rule job is a Slurm job (ids and rules read back from squeue/scontrol),
only the visual jobs ask for a GPU, a job killed with `scancel` mid-run is redone by the
plain command with nothing lost, and the shards equal a local run's. Where Slurm cannot
run here (not root, no package registry), the tests fail with the reason: never skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from bundles import VARIANT_PARAMS, build_bundle, read_csv_by_name, write_archive
from helpers import REPO, assert_same_outputs, copy_repo, extraction_snapshot, run, tool_env

pytestmark = pytest.mark.slow
LOCAL_SLURM = REPO / "scripts" / "local-slurm.sh"
N_TRAILERS = 12
SLURM_SNAKEMAKE = [
    "snakemake",
    "--workflow-profile",
    "slurm",
    # The plugin's first status check waits 40 s by default; a one-node cluster is quick.
    "--slurm-init-seconds-before-status-checks",
    "2",
]
GPU_RULES = {"visual_shard"}


def _slurm(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout


@pytest.fixture(scope="module")
def local_slurm() -> None:
    """A running local Slurm; stopped afterwards only if this fixture started it."""
    already = subprocess.run(
        ["bash", str(LOCAL_SLURM), "status"], capture_output=True, timeout=30
    ).returncode == 0 and "idle" in _slurm("sinfo", "-h", "-o", "%t")
    started = subprocess.run(
        ["bash", str(LOCAL_SLURM), "start"], capture_output=True, text=True, timeout=900
    )
    if started.returncode != 0:
        pytest.fail(
            "cannot run a local Slurm on this machine (scripts/local-slurm.sh start):\n"
            + started.stderr[-3000:]
        )
    yield
    if not already:
        subprocess.run(["bash", str(LOCAL_SLURM), "stop"], timeout=120)


def jobs_of(repo: Path) -> dict[str, dict]:
    """This repo's Slurm jobs (finished ones stay listed for MinJobAge): id -> rule, state, GPU."""
    jobs = {}
    for line in _slurm("squeue", "-t", "all", "-h", "-o", "%i|%k|%T|%Z").splitlines():
        job_id, comment, state, workdir = line.split("|")
        if Path(workdir).resolve() != repo.resolve():
            continue
        detail = _slurm("scontrol", "show", "job", "-o", job_id)
        gpu = re.search(r"TresPerJob=\S*gpu:(\d+)", detail)
        match = re.fullmatch(r"rule_(\w+?)(?:_wildcards_(\d+))?", comment)
        assert match, comment
        jobs[job_id] = {
            "rule": match[1],
            "shard": match[2],
            "state": state,
            "gpus": int(gpu[1]) if gpu else 0,
        }
    return jobs


def print_table(title: str, jobs: dict[str, dict]) -> None:
    print(f"\n{title}\nJOBID  RULE               SHARD  STATE      GPUS")
    for job_id, job in sorted(jobs.items(), key=lambda kv: int(kv[0])):
        shard = job["shard"] or "-"
        print(f"{job_id:<6} {job['rule']:<18} {shard:<6} {job['state']:<10} {job['gpus']}")


def wait_for_running_job(repo: Path, process: subprocess.Popen, rule: str = "visual_shard") -> str:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        for job_id, job in jobs_of(repo).items():
            if job["rule"] == rule and job["state"] == "RUNNING":
                return job_id
        if process.poll() is not None:
            raise AssertionError(f"snakemake ended ({process.returncode}) before {rule} ran")
        time.sleep(1)
    process.kill()
    raise AssertionError(f"no {rule} job reached RUNNING within 600 s")


def test_extraction_on_slurm_survives_scancel_and_equals_a_local_run(
    local_slurm: None, tmp_path: Path
) -> None:
    repo = copy_repo(tmp_path / "slurm")
    run(["moviegenre", "synth", "--count", str(N_TRAILERS)], repo)
    local = tmp_path / "local"
    shutil.copytree(repo, local)

    # First run: one visual job is cancelled by the scheduler while it runs.
    first = subprocess.Popen(
        SLURM_SNAKEMAKE, cwd=repo, env=tool_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    cancelled = wait_for_running_job(repo, first)
    time.sleep(3)  # mid-run: decoding or embedding under way
    subprocess.run(["scancel", cancelled], check=True, timeout=30)
    output, _ = first.communicate(timeout=900)
    assert first.returncode != 0, output[-3000:]  # the cancelled job failed the run
    first_jobs = jobs_of(repo)
    print_table("first run (one job scancelled)", first_jobs)
    assert first_jobs[cancelled]["state"] == "CANCELLED"
    assert f"SLURM jobid {cancelled}" in output

    # The plain command again: only what the cancelled job owed is redone.
    second = run(SLURM_SNAKEMAKE, repo, timeout=900)
    all_jobs = jobs_of(repo)
    second_jobs = {k: v for k, v in all_jobs.items() if k not in first_jobs}
    print_table("second run (the plain command again)", second_jobs)
    redone = {(j["rule"], j["shard"]) for j in second_jobs.values()}
    cancelled_shard = first_jobs[cancelled]["shard"]
    assert redone == {("visual_shard", cancelled_shard), ("extraction_report", None)}, redone

    # Every job ran through Slurm: each shard of each modality has a completed Slurm job,
    # and only the visual jobs asked for a GPU.
    completed = [j for j in all_jobs.values() if j["state"] == "COMPLETED"]
    shards = {j["shard"] for j in completed if j["shard"]}
    assert len(shards) == 3
    for rule in ("audio_shard", "visual_shard"):
        assert {j["shard"] for j in completed if j["rule"] == rule} == shards, rule
    assert [j for j in completed if j["rule"] == "extraction_report"]
    for job in all_jobs.values():
        assert job["gpus"] == (1 if job["rule"] in GPU_RULES else 0), job
    log_text = second.stdout + second.stderr
    assert "has been submitted with SLURM jobid" in log_text
    dry = run([*SLURM_SNAKEMAKE, "-n"], repo)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # Same shards, reports and statuses as a local run of the same trailers.
    run(["snakemake", "--cores", "2", "--resources", "gpu=1"], local, timeout=900)
    assert not [p for p in (repo / "results").rglob("*") if ".tmp-" in p.name]
    assert_same_outputs(extraction_snapshot(repo), extraction_snapshot(local))


def test_dvc_stages_run_as_one_gpu_job(local_slurm: None, tmp_path: Path) -> None:
    """scripts/slurm/train.sbatch on the same cluster: `dvc repro features` (synthetic data
    and the extraction DAG, run on the node) as one Slurm job that asked for a GPU. One stage
    keeps the test short; training stages run the same way, only longer."""
    repo = copy_repo(tmp_path / "repo", {"synth": {"count": 6}})
    (repo / "results/logs/slurm").mkdir(parents=True, exist_ok=True)  # sbatch --output's folder
    job_id = run(
        # The node here has 2 CPUs and ~24 GB: shrink the script's defaults on the command line.
        ["sbatch", "--parsable", "--cpus-per-gpu=2", "--mem=4000", "--time=30",
         "scripts/slurm/train.sbatch", "features"],
        repo,
    ).stdout.strip()  # fmt: skip
    deadline = time.monotonic() + 900
    while (job := jobs_of_id(job_id))["state"] in {"PENDING", "RUNNING", "COMPLETING"}:
        assert time.monotonic() < deadline, f"Slurm job {job_id} still {job['state']}"
        time.sleep(2)
    log = (repo / f"results/logs/slurm/dvc-{job_id}.log").read_text()
    print(f"\nJOBID {job_id} {job['name']} {job['state']} gpus={job['gpus']}\n{log[-1500:]}")
    assert job["state"] == "COMPLETED", log[-3000:]
    assert job["gpus"] == 1
    assert f"(job {job_id}, GPUs: " in log
    assert (repo / "results/extraction_report.csv").is_file()
    status = run(["dvc", "status", "features"], repo)
    assert "up to date" in status.stdout, status.stdout


def jobs_of_id(job_id: str) -> dict:
    detail = _slurm("scontrol", "show", "job", "-o", job_id)
    gpu = re.search(r"TresPerJob=\S*gpu:(\d+)", detail)
    return {
        "state": re.search(r"JobState=(\S+)", detail)[1],
        "name": re.search(r"JobName=(\S+)", detail)[1],
        "gpus": int(gpu[1]) if gpu else 0,
    }


def test_archive_classification_on_slurm_survives_scancel_and_equals_a_local_run(
    local_slurm: None, tmp_path: Path
) -> None:
    """`moviegenre classify --profile slurm`: every step of every shard is a Slurm job (GPU
    only for the visual ones); a visual job cancelled mid-run is redone by the same command,
    with its shard's scoring and the table, and nothing else; the table equals a local run's."""
    from moviegenre.config import load_params

    repo = copy_repo(tmp_path / "slurm", VARIANT_PARAMS)
    build_bundle(repo, load_params(repo / "params.yaml"))
    archive = tmp_path / "archive"
    write_archive(archive, distinct=4, copies=4)
    classify = ["moviegenre", "classify", str(archive), "--shards", "4", "--cluster-cores", "2"]
    local = tmp_path / "local"
    shutil.copytree(repo, local)
    on_slurm = [*classify, "--profile", "slurm", "--", *SLURM_SNAKEMAKE[3:]]

    first = subprocess.Popen(
        on_slurm, cwd=repo, env=tool_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    cancelled = wait_for_running_job(repo, first, "classify_visual_shard")
    time.sleep(3)
    subprocess.run(["scancel", cancelled], check=True, timeout=30)
    output, _ = first.communicate(timeout=900)
    assert first.returncode != 0, output[-3000:]
    first_jobs = jobs_of(repo)
    print_table("classification, first run (one job scancelled)", first_jobs)
    assert first_jobs[cancelled]["state"] == "CANCELLED"

    run(on_slurm, repo, timeout=900)
    all_jobs = jobs_of(repo)
    second_jobs = {k: v for k, v in all_jobs.items() if k not in first_jobs}
    print_table("classification, second run (the same command)", second_jobs)
    shard = first_jobs[cancelled]["shard"]
    redone = {(j["rule"], j["shard"]) for j in second_jobs.values()}
    assert redone == {
        ("classify_visual_shard", shard),
        ("classify_score_shard", shard),
        ("classify_table", None),
    }, redone
    for job in all_jobs.values():
        assert job["gpus"] == (1 if job["rule"] == "classify_visual_shard" else 0), job

    run([*classify, "--", "--cores", "2"], local, timeout=900)
    out = Path("results/classify/archive/genres.csv")
    assert read_csv_by_name(repo / out) == read_csv_by_name(local / out)
