"""Snakemake script (rule audio_shard): the 140-value audio vector of one shard's trailers."""

from pathlib import Path

from moviegenre.features.extract import extract_audio_shard
from moviegenre.logs import capture_rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script: directive
capture_rule_log(snakemake.log[0])
videos = {Path(p).stem: Path(p) for p in snakemake.input.videos}
extract_audio_shard(
    videos,
    Path(snakemake.output.features),
    Path(snakemake.output.status),
    audio_cfg=snakemake.params.audio,
    extraction_cfg=snakemake.params.extraction,
)
