"""Snakemake script (rule classify_score_shard): the bundle's genres for one shard."""

from pathlib import Path

from moviegenre.classify.score import ShardInputs, score_shard_file
from moviegenre.logs import capture_rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script: directive
capture_rule_log(snakemake.log[0])
inputs = ShardInputs(
    videos=[Path(p) for p in snakemake.params.videos],
    visual=Path(snakemake.input.visual),
    visual_status=Path(snakemake.input.visual_status),
    audio=Path(snakemake.input.audio) if "audio" in snakemake.input.keys() else None,
    audio_status=(
        Path(snakemake.input.audio_status) if "audio_status" in snakemake.input.keys() else None
    ),
)
score_shard_file(
    snakemake.params.bundle,
    snakemake.params.bundle_id,
    snakemake.params.model,
    inputs,
    Path(snakemake.output.scores),
    backbone_weights=snakemake.params.backbone_weights,
    threads=int(snakemake.threads),
)
