# moviegenre feature extraction: trailers -> Parquet shards of visual and audio features.
#
#   snakemake --cores 8 --resources gpu=1      # extract whatever is missing
#   snakemake -n                               # list the jobs that would run
#
# params.yaml is the config (validated against workflow/schemas/config.schema.yaml).

from snakemake.utils import min_version

min_version("9.0")

from moviegenre.config import check_params_shape, exit_on_config_error

# Snakemake's reader (configfile: below) recurses per nesting level and validation walks
# every alias: refuse such a params.yaml in one line first (moviegenre.config).
with exit_on_config_error():
    check_params_shape("params.yaml")


configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/audio.smk"
include: "workflow/rules/visual.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        report=EXTRACTION_REPORT,
        summary=EXTRACTION_SUMMARY,


onstart:
    record_owner()
    record_run_start()


onsuccess:
    forget_owner()
    print_extraction_summary()


onerror:
    forget_owner()
