# Helpers of workflow/classify.smk: the run's plan (moviegenre.classify.plan) and threads.
import json
import os
import sys
from pathlib import Path

from moviegenre.classify.plan import plan_run
from moviegenre.config import exit_on_config_error
from moviegenre.features.code_version import feature_code_version
from moviegenre.features.cores import gpu_job_threads, gpu_jobs_at_once
from moviegenre.features.gpu_slots import SLOTS_ENV
from moviegenre.snakemake_locks import clear_stale_locks, forget_owner, record_owner

# A bad value, a missing bundle or an output folder of another bundle stops the run here,
# before any job, in one line.
with exit_on_config_error("moviegenre classify"):
    RUN = plan_run(config)

if clear_stale_locks():
    print("moviegenre: removed the locks of a killed earlier run", file=sys.stderr)

for _rejected in RUN.archive.rejected:
    print(
        f"moviegenre: not classified: {_rejected.name}: {_rejected.reason}: {_rejected.detail}",
        file=sys.stderr,
    )

# One device per concurrent GPU job (features/gpu_slots.py), as in extraction.
os.environ[SLOTS_ENV] = str(gpu_jobs_at_once(workflow.global_resources))


wildcard_constraints:
    shard=r"\d{4}",


def classify_videos(wildcards):
    """The video files of one shard (a list: names with spaces need no quoting)."""
    return RUN.shard_videos(wildcards.shard)


def classify_visual_threads(wildcards):
    """All of --cores split among the GPU jobs at once; cluster_cores on a cluster."""
    return gpu_job_threads(
        workflow,
        {"audio_share": 0, "cluster_cores": RUN.config["cluster_cores"]},
        audio_pending=False,
        visual_pending=sum(not Path(RUN.scores(s)).exists() for s in RUN.shards),
    )


def score_inputs(wildcards):
    inputs = {
        "visual": RUN.features("visual", wildcards.shard),
        "visual_status": RUN.status("visual", wildcards.shard),
    }
    if RUN.needs_audio:
        inputs["audio"] = RUN.features("audio", wildcards.shard)
        inputs["audio_status"] = RUN.status("audio", wildcards.shard)
    return inputs


def status_files(wildcards=None):
    kinds = ["visual", "audio"] if RUN.needs_audio else ["visual"]
    return [RUN.status(kind, shard) for kind in kinds for shard in RUN.shards]


def print_classify_summary():
    summary_path = Path(RUN.table["summary"])
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        print(f"moviegenre: {summary['text']}", file=sys.stderr)
        print(f"moviegenre: table: {RUN.table['csv']} and {RUN.table['parquet']}", file=sys.stderr)
