# One row per trailer: ok, or skipped / failed with the reason, for each modality.


rule extraction_report:
    input:
        status=status_files,
    output:
        report=EXTRACTION_REPORT,
        summary=EXTRACTION_SUMMARY,
    params:
        trailers={trailer_id: str(path) for trailer_id, path in TRAILERS.items()},
    log:
        str(LOGS / "extraction_report.log"),
    script:
        "../../scripts/extraction_report.py"
