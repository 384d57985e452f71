# Visual: frames -> ImageNet backbone embeddings, one GPU job per shard so the backbone
# is loaded once per shard and decoding overlaps inference.
import os

from moviegenre.features.cores import gpu_jobs_at_once, visual_threads_in_workflow
from moviegenre.features.gpu_slots import SLOTS_ENV

# Each running visual job takes one slot of a pool of this many (features/gpu_slots.py):
# one device per concurrent GPU job. Jobs inherit this process's environment.
os.environ[SLOTS_ENV] = str(gpu_jobs_at_once(workflow.global_resources))


rule visual_shard:
    input:
        videos=shard_videos,
    output:
        features=str(paths.shard_file(VISUAL_DIR, "{shard}")),
        status=str(paths.status_file(paths.shard_file(VISUAL_DIR, "{shard}"))),
    log:
        str(paths.shard_log(f"visual/{VISUAL_DIR.name}", "{shard}")),
    conda:
        "../../envs/vision.yaml"
    # All of --cores when it runs alone, less extraction.audio_share while audio shards
    # remain, split among the GPU jobs that run at once; extraction.cluster_cores on a
    # cluster (sbatch --cpus-per-task).
    threads: lambda wildcards: visual_threads_in_workflow(workflow, config, SHARDS, VISUAL_DIR)
    resources:
        # The only GPU jobs: gpu=1 is a local semaphore (profiles/default) and sbatch --gpus=1
        # through profiles/slurm.
        gpu=1,
        mem_mb=4000,
        runtime=120,
    params:
        backbone=backbone_params(config["backbone"]),
        frames=config["frames"],
        # only what changes the features: thread settings must not re-extract a shard
        extraction={"min_duration_s": config["extraction"]["min_duration_s"]},
        code=feature_code_version("visual"),
    script:
        "../../scripts/extract_visual_shard.py"
