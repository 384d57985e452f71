"""Snakemake script (rule visual_shard): backbone embeddings of one shard's trailers."""

from pathlib import Path

from moviegenre.features.extract import extract_visual_shard
from moviegenre.logs import capture_rule_log
from moviegenre.runtime import configure_tensorflow

snakemake = globals()["snakemake"]  # injected by Snakemake's script: directive
capture_rule_log(snakemake.log[0])
configure_tensorflow(threads=snakemake.threads)
videos = {Path(p).stem: Path(p) for p in snakemake.input.videos}
extract_visual_shard(
    videos,
    Path(snakemake.output.features),
    Path(snakemake.output.status),
    frames_cfg=snakemake.params.frames,
    backbone_cfg=snakemake.params.backbone,
    extraction_cfg=snakemake.params.extraction,
)
