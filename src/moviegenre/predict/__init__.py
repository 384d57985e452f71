"""Genres of new trailers from a bundle: `moviegenre predict PATH...`.

Features are computed by the very functions the extraction DAG runs, with the parameters
recorded in the bundle's manifest (not params.yaml), then padded and scored exactly as
training and the fuse stage do; so a trailer the pipeline also scored gets the same
probabilities. A trailer without usable sound is still predicted: fusion models fall back
to their visual model's scores and the audio model to the training prevalence, as the fuse
stage does, and the output flags it ``audio_missing``.

The parts, in the order a run goes through them:

- ``data.trailers.collect_inputs``: the video files named on the command line (shared
  with `audio-features`);
- ``bundle.Bundle.resolve``: the chosen model, read from the manifest once;
- ``predictor``: Predictor (backbone and model, loaded once) and TrailerFeatures;
- ``result``: TrailerResult, the counts and the exit codes (shared with `audio-features`);
- ``render``: the run's description and the table, json, jsonl and csv formats;
- ``output``: ``--output FILE``, written as each trailer finishes and resumed;
- ``command``: the options and ``run``, from arguments to exit status.
"""

from moviegenre.predict.command import EPILOG, add_arguments, run
from moviegenre.predict.output import OutputFile, OutputMismatch
from moviegenre.predict.predictor import Predictor, TrailerFeatures, svm_scores, visual_input
from moviegenre.predict.render import (
    CSV_FIXED,
    FORMATS,
    RENDERERS,
    bundle_id,
    describe,
    render_csv,
    render_json,
    render_jsonl,
    render_table,
)
from moviegenre.predict.result import (
    EXIT_AUDIO_MISSING,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Counts,
    TrailerResult,
    exit_code,
    summary,
)

__all__ = [
    "CSV_FIXED",
    "EPILOG",
    "EXIT_AUDIO_MISSING",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "FORMATS",
    "RENDERERS",
    "Counts",
    "OutputFile",
    "OutputMismatch",
    "Predictor",
    "TrailerFeatures",
    "TrailerResult",
    "add_arguments",
    "bundle_id",
    "describe",
    "exit_code",
    "render_csv",
    "render_json",
    "render_jsonl",
    "render_table",
    "run",
    "summary",
    "svm_scores",
    "visual_input",
]
