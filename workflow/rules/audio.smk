# Audio: the 140-value MFCC / delta / LPC vector of each trailer, one job per shard.


rule audio_shard:
    input:
        videos=shard_videos,
    output:
        features=str(paths.AUDIO_FEATURES / "shard-{shard}.parquet"),
        status=str(paths.AUDIO_FEATURES / "shard-{shard}.status.csv"),
    params:
        audio=config["audio"],
        extraction=config["extraction"],
        code=feature_code_version("audio"),
    log:
        str(LOGS / "audio" / "shard-{shard}.log"),
    threads: 1
    script:
        "../../scripts/extract_audio_shard.py"
