"""The `moviegenre` command: synthetic data, pipeline stages, import and prediction.

The pipeline itself runs through `snakemake` (features) and `dvc repro` (the rest); these
subcommands are what those call, and what a user calls by hand.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from moviegenre import __version__
from moviegenre.config import ConfigError, load_params
from moviegenre.logs import setup_logging

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


def _cmd_dataset(args: argparse.Namespace) -> int:
    from moviegenre.dataset import build_dataset

    build_dataset(load_params(args.params))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from moviegenre.stages.train import run

    run(load_params(args.params), args.model, args.fold)
    return 0


def _cmd_fuse(args: argparse.Namespace) -> int:
    from moviegenre.stages.fuse import AUDIO_MODEL, run_audio, run_fusion

    params = load_params(args.params)
    run_audio(params) if args.model == AUDIO_MODEL else run_fusion(params, args.model)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from moviegenre.stages.evaluate import run

    run(load_params(args.params))
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    """What `make run` prints at the end: where things are, and the test metrics table."""
    from moviegenre import paths
    from moviegenre.stages.evaluate import METRICS, TABLE, THRESHOLDS

    if paths.EXTRACTION_SUMMARY.exists():
        summary = json.loads(paths.EXTRACTION_SUMMARY.read_text())
        print(f"extraction: {summary['text']}")
        print(f"  per-trailer report: {paths.EXTRACTION_REPORT}")
    print(f"features: {paths.FEATURES}/ (Parquet shards: audio/, visual/<backbone>/)")
    print(f"models: {paths.MODELS}/   metrics: {METRICS}   plots: {paths.RESULTS / 'plots'}/")
    if TABLE.exists():
        split = json.loads(THRESHOLDS.read_text()).get("split") if THRESHOLDS.exists() else None
        where = {"oof": "out-of-fold scores of the train+valid trailers"}.get(
            split, f"the {split} split"
        )
        print(f"\ntest-set metrics (thresholds from the {where}):")
        print(TABLE.read_text())
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


# ---- predict: genres of new trailers from the bundle (see moviegenre.predict) ----------------


def _cmd_predict(args: argparse.Namespace) -> int:
    from moviegenre.predict import run

    return run(args)


def _add_predict_parser(sub: argparse._SubParsersAction) -> None:
    from moviegenre.predict import EPILOG, add_arguments

    p = sub.add_parser(
        "predict",
        help="predict the genres of trailer files with the bundle (models/bundle)",
        epilog=EPILOG,
    )
    add_arguments(p)
    p.set_defaults(func=_cmd_predict)


# ---- end of predict ------------------------------------------------------------------------


def _cmd_audio_features(args: argparse.Namespace) -> int:
    from moviegenre.audio_cli import run

    return run(args, load_params(args.params))


def _add_audio_features_parser(sub: argparse._SubParsersAction) -> None:
    from moviegenre.audio_cli import EPILOG, add_arguments

    p = sub.add_parser(
        "audio-features",
        help="the 140 audio values of trailer files, as the pipeline computes them",
        epilog=EPILOG,
    )
    add_arguments(p)
    p.set_defaults(func=_cmd_audio_features)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moviegenre", description=__doc__)
    parser.add_argument("--version", action="version", version=f"moviegenre {__version__}")
    parser.add_argument("--params", default="params.yaml", help="parameters file")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write the built-in synthetic trailers and labels")
    p.add_argument("--videos", default="data/synthetic/trailers")
    p.add_argument("--db", default="data/synthetic/database.db")
    p.add_argument("--count", type=int, default=None, help="override synth.count")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("validate-config", help="check params.yaml against the schema")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "import-lmtd", help="import LMTD-9's database.db, ResNet-152 pickle and/or trailers"
    )
    p.add_argument("--db", required=True, help="LMTD-9 database.db (table lmtd9_0)")
    p.add_argument("--features", help="lmtd9_resnet152.pickle (loaded with a safe unpickler)")
    p.add_argument("--videos", help="folder of {id:06d}.mp4 trailers")
    p.add_argument("--no-params", action="store_true", help="do not update params.yaml")
    p.set_defaults(func=_cmd_import_lmtd)

    p = sub.add_parser("dataset", help="join labels and features (DVC stage dataset)")
    p.set_defaults(func=_cmd_dataset)

    p = sub.add_parser(
        "train", help="train one fold model of a visual model (DVC stage train@MODEL-FOLD)"
    )
    p.add_argument("model", choices=["cnn1d", "lstm_merge", "gru", "gru_merge"])
    p.add_argument("fold", type=int, help="the held-out fold (0..stacking.folds-1)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("fuse", help="fit audio-only or audio+visual SVMs")
    p.add_argument("model", choices=["audio", "cnn1d", "lstm_merge", "gru", "gru_merge"])
    p.set_defaults(func=_cmd_fuse)

    p = sub.add_parser("evaluate", help="metrics, thresholds and plots (DVC stage evaluate)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("summary", help="where the outputs are, and the test metrics")
    p.set_defaults(func=_cmd_summary)

    _add_predict_parser(sub)
    _add_audio_features_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"moviegenre: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
