# One row per trailer: ok, or skipped / failed with the reason, for each modality.
from moviegenre.features.report import REPORT_COLUMNS


rule extraction_report:
    input:
        status=status_files,
    output:
        report=EXTRACTION_REPORT,
        summary=EXTRACTION_SUMMARY,
    log:
        str(LOGS / "extraction_report.log"),
    # pandas and the package only: the audio environment has both.
    conda:
        "../../envs/audio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        trailers={trailer_id: str(path) for trailer_id, path in TRAILERS.items()},
        # a new odd folder entry alone changes this, so the report is rewritten to show it
        rejected=REJECTED,
        # the report's layout: a report of another (an earlier version's) is rewritten
        columns=list(REPORT_COLUMNS),
    script:
        "../../scripts/extraction_report.py"
