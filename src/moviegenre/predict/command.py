"""`moviegenre predict PATH...`: its options, and the run from arguments to exit status.

One bad file never stops a batch: it is reported by name with a reason, and the exit code
says so at the end. Everything that can refuse the run (a bad --output, the bundle, an
unknown model, another run's --output) is checked before TensorFlow starts.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviegenre.bundle import BUNDLE_DIR, Bundle, BundleError, load_bundle
from moviegenre.data.trailers import collect_inputs
from moviegenre.predict.output import OutputFile, OutputMismatch
from moviegenre.predict.predictor import Predictor
from moviegenre.predict.render import FORMATS, RENDERERS, describe, fallback_text
from moviegenre.predict.result import EXIT_USAGE, Counts, TrailerResult, problem_results

log = logging.getLogger("moviegenre.predict")

EPILOG = (
    "exit status: 0 all predicted; 1 some file not predicted (each is reported with its "
    "reason); 3 all predicted, but some without usable audio (fusion models then use their "
    "visual model's scores, the audio model the training prevalence); 2 bad usage or bundle."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `moviegenre predict` (cli.py adds the subcommand)."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="video files and/or folders")
    parser.add_argument(
        "--bundle", default=str(BUNDLE_DIR), help="bundle folder (default: %(default)s)"
    )
    parser.add_argument(
        "--model",
        default=None,
        help="cnn1d, lstm_merge, gru, gru_merge, audio or fusion_<visual> "
        "(default: the bundle's, the fusion with the best AU-PRC macro on the train+valid "
        "trailers among those whose SVMs learnt from audio)",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument(
        "--output",
        default=None,
        help="write the output here, not to stdout: each trailer as it finishes; run again, "
        "the files already there are skipped",
    )
    parser.add_argument(
        "--redo",
        action="store_true",
        help="with --output: start the file afresh and predict every file again",
    )
    parser.add_argument(
        "--backbone-weights",
        default=None,
        metavar="FILE",
        help="the backbone weights file, if it moved since the bundle was made (same content)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="N",
        help="cores to use: trailers decoded at once and TensorFlow's threads "
        "(default: every core this process may run on)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@dataclass
class _Batch:
    """What a run works through, all checked before any trailer is read."""

    bundle: Bundle
    context: dict[str, Any]  # describe(): what every output format states about the run
    files: list[Path]  # still to predict
    missing: list[TrailerResult]  # paths that gave no file, each with its reason
    sink: OutputFile | None  # --output
    predictor: Predictor | None  # None when no file is left to predict


def run(args: argparse.Namespace) -> int:
    """`moviegenre predict`: load once, predict every file, print, and exit with a status."""
    started = time.monotonic()
    output = Path(args.output) if args.output else None
    if output is not None and (output.is_dir() or (output.exists() and not output.is_file())):
        kind = "a folder" if output.is_dir() else "not a regular file"
        print(
            f"moviegenre predict: --output {output} is {kind}; give a file name",
            file=sys.stderr,
        )
        return EXIT_USAGE  # before the bundle, the backbone and the whole batch
    counts = Counts()
    try:
        batch = _prepare(args, output, counts)
    except (BundleError, OutputMismatch) as exc:
        print(f"moviegenre predict: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _report_before(batch, counts, output)
    results: list[TrailerResult] = []  # only without --output: the document printed at the end

    def keep(r: TrailerResult) -> None:
        counts.add(r.ok, r.audio_missing)
        if batch.sink is not None:
            batch.sink.add(r)
        else:
            results.append(r)

    if batch.sink is not None:
        batch.sink.open()
    if batch.predictor is not None:
        _predict_files(batch, keep, started, counts, output)
    for r in batch.missing:
        keep(r)
    if batch.sink is not None:
        batch.sink.close(counts.summary())
        log.info("wrote %s", output)
        return counts.exit_code()
    sys.stdout.write(RENDERERS[args.format](results, batch.context))
    sys.stdout.flush()
    return counts.exit_code()


def _prepare(args: argparse.Namespace, output: Path | None, counts: Counts) -> _Batch:
    """Open the bundle, the inputs and --output, and load the model: BundleError or
    OutputMismatch before TensorFlow starts for everything that can be refused."""
    # each model file is hashed once, as it is copied to be loaded (Bundle.verified_files)
    bundle = load_bundle(args.bundle, verify_hashes=False)
    model = bundle.resolve(args.model)  # an unknown model fails before TensorFlow
    context = describe(bundle, model)
    files, problems = collect_inputs(args.paths)
    missing = problem_results(problems)
    sink = None
    if output is not None:
        sink = OutputFile(output, args.format, context, redo=getattr(args, "redo", False))
        sink.read()  # before TensorFlow: another bundle's or model's rows are refused
        files, missing = _skip_done(sink, files, missing, counts)
    predictor = Predictor(bundle, model, args.backbone_weights, args.threads) if files else None
    return _Batch(bundle, context, files, missing, sink, predictor)


def _report_before(batch: _Batch, counts: Counts, output: Path | None) -> None:
    """Warnings and counts the user sees before the first trailer."""
    if batch.context.get("fallback"):
        log.warning("%s", batch.context["fallback"])
    for r in batch.missing:
        log.warning("%s: %s: %s", r.path, r.reason, r.detail)
    if counts.skipped:
        log.info(
            "skipped %d files already in %s (--redo predicts them again)", counts.skipped, output
        )


def _predict_files(
    batch: _Batch,
    keep: Callable[[TrailerResult], None],
    started: float,
    counts: Counts,
    output: Path | None,
) -> None:
    """Predict batch.files, each result to `keep` as it comes, with progress on stderr."""
    assert batch.predictor is not None
    files = batch.files
    log.info(
        "loaded %s (model %s, backbone %s) in %.1f s; %d files to predict",
        batch.bundle.directory,
        batch.predictor.model,
        batch.bundle.manifest["backbone"]["name"],
        time.monotonic() - started,
        len(files),
    )
    predict_started = time.monotonic()
    first_done = predict_started
    predicted = 0
    for done, r in enumerate(batch.predictor.predict_each(files), 1):
        keep(r)
        predicted += r.ok
        if done == 1:
            first_done = time.monotonic()
        _progress(done, len(files), r, batch.context, first_done)
    elapsed = time.monotonic() - predict_started
    log.info(
        "predicted %d of %d files in %.1f s (%.2f s per file)%s%s",
        predicted,
        len(files),
        elapsed,
        elapsed / len(files),
        f"; {len(files) - predicted} failed" if predicted < len(files) else "",
        f"; {counts.skipped} skipped (already in {output})" if counts.skipped else "",
    )


def _skip_done(
    sink: OutputFile, files: list[Path], missing: list[TrailerResult], counts: Counts
) -> tuple[list[Path], list[TrailerResult]]:
    """The inputs --output does not hold yet; those it holds count as they were recorded."""

    def new(path: str | Path) -> bool:
        found = sink.skips(path)
        if found is not None:
            counts.add(*found)
            counts.skipped += 1
        return found is None

    return [f for f in files if new(f)], [r for r in missing if new(r.path)]


def _progress(
    done: int, total: int, r: TrailerResult, context: dict[str, Any], first_done: float
) -> None:
    """One stderr line per trailer, with the time left at the batch's pace measured from
    trailer 2 on: the first one also pays TensorFlow's warm-up, the bundle load is not in."""
    where = f"[{done}/{total}] {r.path}"
    if not r.ok:
        log.warning("%s: %s: %s", where, r.reason, r.detail)
    elif r.audio_missing:
        fallback = fallback_text(r, context)
        log.warning("%s: audio missing (%s): %s", where, r.audio_reason, fallback)
    elif done >= 2:
        left = (time.monotonic() - first_done) / (done - 1) * (total - done)
        log.info("%s: %.1f s, about %.0f s left", where, r.seconds, left)
    else:
        log.info("%s: %.1f s", where, r.seconds)
