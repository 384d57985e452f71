"""Snakemake script (rule visual_shard): backbone embeddings of one shard's trailers."""

import logging
from pathlib import Path

from moviegenre import paths
from moviegenre.features.extract import extract_visual_shard, visual_store_settings
from moviegenre.features.gpu_slots import acquire_gpu_slot
from moviegenre.features.status import write_origins
from moviegenre.features.store import FeatureStore
from moviegenre.logs import capture_rule_log
from moviegenre.runtime import configure_tensorflow

snakemake = globals()["snakemake"]  # injected by Snakemake's script: directive
capture_rule_log(snakemake.log[0])
log = logging.getLogger("moviegenre.extract")
# A device of its own before TensorFlow starts (CUDA_VISIBLE_DEVICES); held until exit.
slot = acquire_gpu_slot()
log.info("%s", slot.describe())
# The job's cores (workflow/rules/visual.smk) are its decode workers and TensorFlow's threads.
cores = int(snakemake.threads)
log.info("decode workers: %d, TensorFlow threads: %d", cores, cores)


def start_tensorflow() -> None:
    """TensorFlow's threads and devices, set when some trailer has to be embedded."""
    gpus = configure_tensorflow(threads=cores)
    log.info("device: %s", ", ".join(gpus) if gpus else "CPU (no GPU visible to TensorFlow)")


videos = {Path(p).stem: Path(p) for p in snakemake.input.videos}
# Trailers already in the feature store are not decoded; the rule's `code` param is
# feature_code_version("visual"), part of every entry's key.
store = FeatureStore(
    paths.FEATURE_STORE,
    "visual",
    visual_store_settings(
        snakemake.params.frames,
        snakemake.params.backbone,
        snakemake.params.extraction["min_duration_s"],
    ),
    snakemake.params.code,
)
statuses = extract_visual_shard(
    videos,
    Path(snakemake.output.features),
    Path(snakemake.output.status),
    frames_cfg=snakemake.params.frames,
    backbone_cfg=snakemake.params.backbone,
    extraction_cfg=snakemake.params.extraction,
    store=store,
    # TensorFlow is imported only if some trailer has to be embedded
    before_backbone=start_tensorflow,
    decode_workers=cores,
)
# reused / extracted per row, for the run's summary (not in the status CSV: see status.py)
write_origins(statuses, Path(snakemake.output.status))
