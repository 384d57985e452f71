"""Snakemake script (rule visual_shard): backbone embeddings of one shard's trailers."""

import logging
from pathlib import Path

from moviegenre.features.extract import extract_visual_shard
from moviegenre.features.gpu_slots import acquire_gpu_slot
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
gpus = configure_tensorflow(threads=cores)
log.info(
    "decode workers: %d, TensorFlow threads: %d, device: %s",
    cores,
    cores,
    ", ".join(gpus) if gpus else "CPU (no GPU visible to TensorFlow)",
)
videos = {Path(p).stem: Path(p) for p in snakemake.input.videos}
extract_visual_shard(
    videos,
    Path(snakemake.output.features),
    Path(snakemake.output.status),
    frames_cfg=snakemake.params.frames,
    backbone_cfg=snakemake.params.backbone,
    extraction_cfg=snakemake.params.extraction,
    decode_workers=cores,
)
