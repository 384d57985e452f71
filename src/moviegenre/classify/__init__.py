"""Classify an archive: genres for every trailer of a folder through the Snakemake DAG.

`moviegenre classify ARCHIVE` (or `snakemake -s workflow/classify.smk`) splits the folder
into shards; each shard's trailers go through the extraction DAG's own shard jobs with the
bundle's recorded feature settings (so the feature store serves every trailer the pipeline
or an earlier run already extracted), then one scoring job per shard applies the bundle's
model, and the shards' rows are gathered into one table (docs/classify.md).
"""
