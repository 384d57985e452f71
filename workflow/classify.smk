# moviegenre archive classification: a folder of trailers -> genres for each, with a bundle.
#
#   moviegenre classify /archive                      # runs the command below
#   snakemake -s workflow/classify.smk --config archive=/archive
#   snakemake -s workflow/classify.smk --workflow-profile slurm --config archive=/archive
#
# Config (workflow/schemas/classify.schema.yaml): archive, bundle, model, out, shards.
# Feature settings come from the bundle's manifest, never params.yaml (see README,
# "Classify an archive").

from snakemake.utils import min_version

min_version("9.0")


include: "classify/common.smk"
include: "classify/rules.smk"


rule classify_all:
    default_target: True
    input:
        **RUN.table,


onstart:
    record_owner()
    RUN.start()


onsuccess:
    forget_owner()
    print_classify_summary()


onerror:
    forget_owner()
