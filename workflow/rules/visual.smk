# Visual: frames -> ImageNet backbone embeddings, one GPU job per shard so the backbone
# is loaded once per shard and decoding overlaps inference.


rule visual_shard:
    input:
        videos=shard_videos,
    output:
        features=str(VISUAL_DIR / "shard-{shard}.parquet"),
        status=str(VISUAL_DIR / "shard-{shard}.status.csv"),
    params:
        backbone=backbone_params(config["backbone"]),
        frames=config["frames"],
        extraction=config["extraction"],
        code=feature_code_version("visual"),
    log:
        str(LOGS / "visual" / VISUAL_DIR.name / "shard-{shard}.log"),
    threads: 2
    resources:
        gpu=1,
    script:
        "../../scripts/extract_visual_shard.py"
