# Visual: frames -> ImageNet backbone embeddings, one GPU job per shard so the backbone
# is loaded once per shard and decoding overlaps inference.


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
    threads: 2
    resources:
        # The only GPU jobs: gpu=1 is a local semaphore (profiles/default) and sbatch --gpus=1
        # through profiles/slurm.
        gpu=1,
        mem_mb=4000,
        runtime=120,
    params:
        backbone=backbone_params(config["backbone"]),
        frames=config["frames"],
        extraction=config["extraction"],
        code=feature_code_version("visual"),
    script:
        "../../scripts/extract_visual_shard.py"
