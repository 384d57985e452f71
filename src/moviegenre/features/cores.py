"""How many cores a visual shard job gets: the `threads:` of workflow/rules/visual.smk.

The job's cores are its decode workers (one trailer each, decoded ahead of the network)
and TensorFlow's CPU threads; decoding sets the pace wherever a GPU embeds, so every core
the job is not given is a core that decodes nothing. Snakemake fixes a job's threads when
it builds the DAG, so the split is decided then:

- alone (every audio shard already extracted): all of ``--cores``;
- beside audio jobs: ``--cores`` less ``extraction.audio_share`` of it (rounded), which
  is left to audio shards. The default, 0, gives the visual jobs every core and runs the
  audio shards between them: while decoding sets the pace, total CPU work is the same
  either way and a share would leave cores idle once the audio is done (the split is
  fixed at DAG time). A share helps where the GPU, not decoding, is the bottleneck;
- divided among the visual jobs that run at once (``--resources gpu=N``, at most the
  visual shards still to extract): N jobs share the cores, one GPU each;
- under a cluster executor (Slurm, Kubernetes): ``extraction.cluster_cores``, which the
  executor requests (sbatch ``--cpus-per-task``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def _value(resource: Any) -> Any:
    """A Snakemake global resource's value (a Resource object in Snakemake 9, or plain)."""
    return getattr(resource, "value", resource)


def gpu_jobs_at_once(global_resources: Mapping[str, Any]) -> int:
    """``--resources gpu=N``'s N (1 when not given: one GPU job at a time)."""
    value = _value(global_resources.get("gpu")) if "gpu" in global_resources else None
    try:
        return max(1, int(value))
    except (TypeError, ValueError):  # not given, or unlimited
        return 1


def visual_shard_threads(
    cores: int | None,
    cluster: bool,
    global_resources: Mapping[str, Any],
    extraction: Mapping[str, Any],
    audio_pending: bool,
    visual_pending: int,
) -> int:
    """The threads of one visual shard job (see the module docstring).

    ``cluster``: jobs go to a cluster executor, or this process is such a job on its node.
    """
    if cluster or not cores:
        return max(1, int(extraction["cluster_cores"]))
    cores = int(cores)
    reserved = round(cores * float(extraction["audio_share"])) if audio_pending else 0
    for_visual = max(1, cores - reserved)
    jobs = max(1, min(gpu_jobs_at_once(global_resources), max(1, int(visual_pending))))
    return max(1, for_visual // jobs)


def visual_threads_in_workflow(
    workflow: Any, config: Mapping[str, Any], shards: Iterable[str], visual_dir: Path
) -> int:
    """visual_shard's ``threads:`` from Snakemake's ``workflow`` (its --cores, --resources,
    executor) and which shards' outputs exist yet (checked when the DAG is built)."""
    from moviegenre import paths

    shards = list(shards)
    return gpu_job_threads(
        workflow,
        config["extraction"],
        audio_pending=any(not paths.audio_shard(shard).exists() for shard in shards),
        visual_pending=sum(not paths.shard_file(visual_dir, s).exists() for s in shards),
    )


def gpu_job_threads(
    workflow: Any, extraction: Mapping[str, Any], audio_pending: bool, visual_pending: int
) -> int:
    """A GPU job's ``threads:`` in Snakemake's ``workflow`` (extraction's visual shards,
    classification's): ``extraction`` holds ``audio_share`` and ``cluster_cores``."""
    return visual_shard_threads(
        cores=workflow._cores,
        # jobs go to nodes (--jobs with a cluster executor), or this process is one of them
        cluster=workflow.nodes is not None or workflow.remote_exec,
        global_resources=workflow.global_resources,
        extraction=extraction,
        audio_pending=audio_pending,
        visual_pending=visual_pending,
    )


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity: a Slurm or cgroup allotment)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
