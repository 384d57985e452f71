# Archive classification, per shard: the extraction DAG's shard jobs (the same scripts)
# with the bundle's feature settings, then the bundle's model; then one table.


rule classify_visual_shard:
    input:
        videos=classify_videos,
    output:
        # read once by the shard's scoring job, then removed: the feature store keeps
        # each trailer's features, so an archive's are not stored twice
        features=temp(RUN.features("visual")),
        status=RUN.status("visual"),
    log:
        RUN.log("visual"),
    conda:
        "../../envs/vision.yaml"
    threads: classify_visual_threads
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=120,
    params:
        backbone=RUN.settings.backbone,
        frames=RUN.settings.frames,
        extraction=RUN.settings.extraction,
        code=feature_code_version("visual"),
    script:
        "../../scripts/extract_visual_shard.py"


rule classify_audio_shard:
    input:
        videos=classify_videos,
    output:
        features=temp(RUN.features("audio")),
        status=RUN.status("audio"),
    log:
        RUN.log("audio"),
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        audio=RUN.settings.audio,
        extraction=RUN.settings.extraction,
        code=feature_code_version("audio"),
    script:
        "../../scripts/extract_audio_shard.py"


rule classify_score_shard:
    input:
        unpack(score_inputs),
    output:
        scores=RUN.scores(),
    log:
        RUN.log("score"),
    conda:
        "../../envs/vision.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        videos=classify_videos,
        bundle=str(RUN.bundle.directory),
        bundle_id=RUN.bundle_id,
        model=RUN.model,
        backbone_weights=RUN.config["backbone_weights"],
    script:
        "../../scripts/classify_shard.py"


rule classify_table:
    input:
        scores=expand(RUN.scores(), shard=RUN.shards),
        status=status_files,
    output:
        **RUN.table,
    log:
        str(RUN.out / "logs" / "table.log"),
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        # the refused folder entries, each a row of the table (a callable: names are
        # not read as wildcard patterns)
        rejected=lambda wildcards: RUN.rejected_rows(),
        archive=str(RUN.archive.folder),
        run_started=str(RUN.run_started),
        bundle_id=RUN.bundle_id,
        model=RUN.model,
        bundle=str(RUN.bundle.directory),
    script:
        "../../scripts/classify_table.py"
