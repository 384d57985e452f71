"""Snakemake script (rule audio_shard): the 140-value audio vector of one shard's trailers."""

from pathlib import Path

from moviegenre import paths
from moviegenre.features.extract import audio_store_settings, extract_audio_shard
from moviegenre.features.status import write_origins
from moviegenre.features.store import FeatureStore
from moviegenre.logs import capture_rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script: directive
capture_rule_log(snakemake.log[0])
videos = {Path(p).stem: Path(p) for p in snakemake.input.videos}
# Trailers already in the feature store are not decoded; the rule's `code` param is
# feature_code_version("audio"), part of every entry's key.
store = FeatureStore(
    paths.FEATURE_STORE,
    "audio",
    audio_store_settings(snakemake.params.audio, snakemake.params.extraction["min_duration_s"]),
    snakemake.params.code,
)
statuses = extract_audio_shard(
    videos,
    Path(snakemake.output.features),
    Path(snakemake.output.status),
    audio_cfg=snakemake.params.audio,
    extraction_cfg=snakemake.params.extraction,
    store=store,
)
# reused / extracted per row, for the run's summary (not in the status CSV: see status.py)
write_origins(statuses, Path(snakemake.output.status))
