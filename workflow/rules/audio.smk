# Audio: the 140-value MFCC / delta / LPC vector of each trailer, one job per shard.


rule audio_shard:
    input:
        videos=shard_videos,
    output:
        features=str(paths.audio_shard("{shard}")),
        status=str(paths.status_file(paths.audio_shard("{shard}"))),
    log:
        str(paths.shard_log("audio", "{shard}")),
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        # Measured on 8 s trailers: see README "Running on a cluster"; scale runtime with shard size.
        mem_mb=2000,
        runtime=60,
    params:
        audio=config["audio"],
        extraction={"min_duration_s": config["extraction"]["min_duration_s"]},
        code=feature_code_version("audio"),
    script:
        "../../scripts/extract_audio_shard.py"
