#!/usr/bin/env bash
# Snakemake runs this once, inside the freshly created environment, from its working
# directory (the repository root): the env file itself cannot name the repo, because
# Snakemake copies it elsewhere (a relative `-e ..` would point into .snakemake/conda).
# Editable, so the rule scripts import the checked-out code; --no-deps, the env file
# already pins the dependencies.
set -euo pipefail
test -f pyproject.toml && grep -q '^name = "moviegenre"' pyproject.toml ||
    { echo "run snakemake from the moviegenre repository root" >&2; exit 1; }
python -m pip install --no-deps -e .
