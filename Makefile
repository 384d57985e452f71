# Two commands: `make run` (set up, then the whole pipeline on synthetic trailers)
# and `make test` (set up, then the test suite). Everything installs into .venv/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 2
export DVC_NO_ANALYTICS := 1

.PHONY: setup run test lint bench clean

setup: $(STAMP)

# constraints.txt pins every package to the versions the README's numbers came from
# (how to refresh it: its header).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The main job: synthetic trailers -> features (Snakemake) -> models, fusion, metrics (DVC).
run: setup
	$(BIN)/dvc repro
	$(BIN)/python -m moviegenre.cli summary

# Snakemake files are not Python to ruff: snakefmt and snakemake --lint check them.
SMK := Snakefile workflow/classify.smk $(wildcard workflow/rules/*.smk workflow/classify/*.smk)

test: setup
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check $(SMK)
	$(BIN)/snakemake --lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check $(SMK)
	$(BIN)/snakemake --lint

bench: setup
	$(BIN)/python -c "import cv2" 2>/dev/null || $(BIN)/pip install --quiet -c constraints.txt -e ".[dev,bench]"
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf results/* models data/synthetic .snakemake dvclive
