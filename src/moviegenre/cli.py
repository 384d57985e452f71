"""The `moviegenre` command: what users run besides the pipeline.

Synthetic trailers, params.yaml checks, the LMTD-9 import, the run's summary, `predict`
and `audio-features`. The pipeline itself is `snakemake` (features) and `dvc repro` (the
rest); each DVC stage is `python -m moviegenre.pipeline.<stage>` (one fold model by hand:
`dvc repro train@cnn1d-0`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from moviegenre import __version__, paths
from moviegenre.config import ConfigError, load_params
from moviegenre.logs import setup_logging
from moviegenre.pipeline import exit_on_bad_input

log = logging.getLogger("moviegenre")


def _cmd_synth(args: argparse.Namespace) -> int:
    from moviegenre.data.synth import SynthConfig, generate

    params = load_params(args.params)
    config = SynthConfig(**{**params["synth"], **({"count": args.count} if args.count else {})})
    written = generate(Path(args.videos), Path(args.db), config)
    print(f"wrote {len(written)} synthetic trailers to {args.videos} and labels to {args.db}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    load_params(args.params)
    print(f"{args.params}: valid")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    """What `make run` prints at the end: where things are, and the test metrics table."""

    imported = paths.visual_features_dir(load_params(args.params)).name == paths.LMTD_VISUAL_NAME
    extraction = (
        json.loads(paths.EXTRACTION_SUMMARY.read_text())
        if paths.EXTRACTION_SUMMARY.exists()
        else None
    )
    if imported:
        from moviegenre.data.lmtd import IMPORT_REPORT

        print(
            "visual features: imported from LMTD-9's ResNet-152 pickle by "
            f"`moviegenre import-lmtd` (report: {IMPORT_REPORT}), not extracted"
        )
    if extraction is not None and (extraction["n_trailers"] or not imported):
        what = "audio of the trailer files" if imported else "extraction"
        print(f"{what}: {extraction['text']}")
        print(f"  per-trailer report: {paths.EXTRACTION_REPORT}")
    elif imported:
        print(
            "trailer files: none, so no audio: the audio and fusion models are fallbacks "
            "(no SVM fitted; marked in the table below)"
        )
    print(f"features: {paths.FEATURES}/ (Parquet shards: audio/, visual/<backbone>/)")
    print(f"models: {paths.MODELS}/   metrics: {paths.MODEL_METRICS}/   plots: {paths.PLOTS}/")
    if paths.METRICS_TABLE.exists():
        thresholds = paths.THRESHOLDS
        split = json.loads(thresholds.read_text()).get("split") if thresholds.exists() else None
        where = {"oof": "out-of-fold scores of the train+valid trailers"}.get(
            split, f"the {split} split"
        )
        print(f"\ntest-set metrics (thresholds from the {where}):")
        print(paths.METRICS_TABLE.read_text())
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    from moviegenre.features.store import cache_report

    classified = paths.RESULTS / "classify"  # archives' shards (moviegenre classify)
    print(cache_report(Path(args.store), paths.FEATURES, prune=args.prune, classified=classified))
    return 0


def _cmd_import_lmtd(args: argparse.Namespace) -> int:
    """Turn LMTD-9's published files into labels + shards, and point params.yaml at them."""
    from moviegenre.data.labels import LabelError
    from moviegenre.data.lmtd import (
        FeaturePickleError,
        LmtdImportError,
        UnsafePickleError,
        import_lmtd,
        lmtd_params,
        update_params_file,
    )

    params = load_params(args.params)
    db = Path(args.db)
    pickle_path = Path(args.features) if args.features else None
    videos = Path(args.videos) if args.videos else None
    try:
        report = import_lmtd(
            db,
            pickle_path,
            videos,
            int(params["extraction"]["shards"]),
            max_frames=int(params["dataset"]["max_frames"]),
        )
    except (LabelError, UnsafePickleError, FeaturePickleError, LmtdImportError) as exc:
        # One line, exit 2 (a refused input, like a refused config), nothing written.
        print(f"moviegenre import-lmtd: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"details: {report.report_path}")
    if not args.no_params:
        data_section = lmtd_params(db, pickle_path, videos)
        # Without --videos the extraction reads an empty folder (nothing to extract), which
        # must exist: it is the DVC features stage's dependency.
        Path(data_section["videos_dir"]).mkdir(parents=True, exist_ok=True)
        update_params_file(Path(args.params), data_section)
        print(f"{args.params}: data section now points at LMTD-9 (source: lmtd9)")
    return 0


# ---- predict and classify: genres of new trailers from the bundle ---------------------------


def _add_bundle_commands(sub: argparse._SubParsersAction) -> None:
    from moviegenre import predict
    from moviegenre.classify import command as classify

    _add_bundle_command(
        sub,
        "predict",
        predict,
        "predict the genres of trailer files with the bundle (models/bundle)",
        "Features are computed as the pipeline computes them, with the parameters recorded "
        "in the bundle (not params.yaml).",
    )
    _add_bundle_command(
        sub,
        "classify",
        classify,
        "genres for every trailer of a folder, through the Snakemake DAG (resumable)",
        "Runs workflow/classify.smk: the extraction shard jobs with the bundle's settings (not "
        "params.yaml), one scoring job per shard, one table (genres.csv, genres.parquet).",
    )


def _add_bundle_command(
    sub: argparse._SubParsersAction, name: str, module: Any, summary: str, details: str
) -> None:
    """A command that reads the bundle's settings, never params.yaml (moviegenre.predict,
    moviegenre.classify.command): its module gives the options, EPILOG and run(args)."""
    p = _subcommand(sub, name, summary, details, epilog=module.EPILOG, params_option=False)
    module.add_arguments(p)
    p.set_defaults(func=module.run)


def _cmd_audio_features(args: argparse.Namespace) -> int:
    from moviegenre.audio_cli import run

    return run(args, load_params(args.params))


def _add_audio_features_parser(sub: argparse._SubParsersAction) -> None:
    from moviegenre.audio_cli import EPILOG, add_arguments

    p = _subcommand(
        sub,
        "audio-features",
        "the 140 audio values of trailer files, as the pipeline computes them",
        "Uses params.yaml's audio section; no DAG, nothing written.",
        epilog=EPILOG,
    )
    add_arguments(p)
    p.set_defaults(func=_cmd_audio_features)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults shown after each option's help, except unset ones and those the help states."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


# Given after the subcommand, --params wins over one given before it; SUPPRESS keeps the
# subparser from overwriting the top-level value when the option is absent there.
_PARAMS_HELP = "parameters file (default: params.yaml); accepted before or after the subcommand"


def _subcommand(
    sub: argparse._SubParsersAction,
    name: str,
    summary: str,
    details: str = "",
    params_option: bool = True,
    **kwargs,
) -> argparse.ArgumentParser:
    """A subparser with a description (summary + details), defaults in --help and, for a
    command that reads params.yaml (`params_option`), --params."""
    p = sub.add_parser(
        name,
        help=summary,
        description=f"{summary}. {details}".strip(),
        formatter_class=_HelpFormatter,
        **kwargs,
    )
    if params_option:
        p.add_argument("--params", default=argparse.SUPPRESS, help=_PARAMS_HELP)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moviegenre", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"moviegenre {__version__}")
    parser.add_argument("--params", default="params.yaml", help=_PARAMS_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _subcommand(
        sub,
        "synth",
        "write the built-in synthetic trailers and labels",
        "Renders synth.count LMTD-style .mp4 trailers and their labels in LMTD-9's "
        "database.db format (what `dvc repro synth` makes).",
    )
    p.add_argument("--videos", default=str(paths.SYNTHETIC_TRAILERS), help="trailer folder")
    p.add_argument("--db", default=str(paths.SYNTHETIC_LABELS_DB), help="label file")
    p.add_argument("--count", type=int, default=None, help="override synth.count")
    p.set_defaults(func=_cmd_synth)

    p = _subcommand(
        sub,
        "validate-config",
        "check params.yaml against the schema",
        "Exit 0 when valid; otherwise one line naming the key and what it accepts, exit 2.",
    )
    p.set_defaults(func=_cmd_validate)

    p = _subcommand(
        sub,
        "import-lmtd",
        "import LMTD-9's database.db, ResNet-152 pickle and/or trailers",
        "Checks the label file, turns the feature pickle into Parquet shards (safe "
        "unpickler) and points params.yaml's data section at them (see README, "
        '"Using LMTD-9").',
    )
    p.add_argument("--db", required=True, help="LMTD-9 database.db (table lmtd9_0)")
    p.add_argument("--features", help="lmtd9_resnet152.pickle (loaded with a safe unpickler)")
    p.add_argument("--videos", help="folder of {id:06d}.mp4 trailers")
    p.add_argument("--no-params", action="store_true", help="do not update params.yaml")
    p.set_defaults(func=_cmd_import_lmtd)

    p = _subcommand(
        sub,
        "summary",
        "where the outputs are, and the test metrics",
        "What `make run` prints at its end; reads results/ only.",
    )
    p.set_defaults(func=_cmd_summary)

    p = _subcommand(
        sub,
        "cache",
        "the per-trailer feature store: its size, and a clean-up",
        "Entries are in use when a shard's status file in results/features/ or "
        "results/classify/ names them "
        "(docs/feature_store.md). Do not prune while an extraction runs.",
    )
    p.add_argument("--store", default=str(paths.FEATURE_STORE), help="the store's folder")
    p.add_argument(
        "--prune",
        action="store_true",
        help="remove the entries no current shard uses and stale stat-index records",
    )
    p.set_defaults(func=_cmd_cache)

    _add_bundle_commands(sub)
    _add_audio_features_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line's subcommand; a bad params.yaml or a missing input file is one
    line on stderr and exit status 2, not a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    snakemake_args: list[str] = []
    if "classify" in argv:  # what follows `--` is Snakemake's (moviegenre.classify.command)
        from moviegenre.classify.command import split_snakemake_args

        argv, snakemake_args = split_snakemake_args(argv)
    args = build_parser().parse_args(argv)
    args.snakemake_args = snakemake_args
    setup_logging()
    return exit_on_bad_input(
        f"moviegenre {args.command}",
        lambda: args.func(args),
        refused=ConfigError,
        refused_program="moviegenre",
    )


if __name__ == "__main__":
    sys.exit(main())
