"""Snakemake script (rule extraction_report): one row per trailer, and the run's summary."""

import logging
from pathlib import Path

from moviegenre import paths
from moviegenre.features.report import rows_of_this_run, write_report
from moviegenre.logs import capture_rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script: directive
capture_rule_log(snakemake.log[0])
rows = rows_of_this_run(
    [Path(path) for path in snakemake.input.status], paths.EXTRACTION_RUN_STARTED
)
summary = write_report(
    rows,
    snakemake.params.trailers,
    Path(snakemake.output.report),
    Path(snakemake.output.summary),
    # the folder entries common.smk's screening left out (data.trailers.Rejected)
    list(snakemake.params.rejected),
)
logging.getLogger("moviegenre.report").info(summary["text"])
