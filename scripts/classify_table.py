"""Snakemake script (rule classify_table): the shards' rows and the refused entries as one
table (genres.parquet, genres.csv) and the run's summary."""

import logging
from pathlib import Path

from moviegenre.classify.table import write_archive_table
from moviegenre.logs import capture_rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script: directive
capture_rule_log(snakemake.log[0])
summary = write_archive_table(
    scores=[Path(p) for p in snakemake.input.scores],
    status_files=[Path(p) for p in snakemake.input.status],
    rejected=snakemake.params.rejected,
    run_started=Path(snakemake.params.run_started),
    archive=Path(snakemake.params.archive),
    bundle_dir=Path(snakemake.params.bundle),
    model=snakemake.params.model,
    bundle_id=snakemake.params.bundle_id,
    outputs={key: Path(snakemake.output[key]) for key in ("parquet", "csv", "summary")},
)
logging.getLogger("moviegenre.classify").info("%s", summary["text"])
