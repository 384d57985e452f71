"""`moviegenre audio-features FILE...`: a trailer's 140 audio values without running the DAG.

Each file goes through the very function the pipeline's audio shards use
(``features.trailer.audio_features_for``) with params.yaml's ``audio`` and
``extraction.min_duration_s``, so a user can check what the SVMs will read for a trailer,
or why a trailer has no audio vector. Values are float32 as stored in the Parquet shards;
JSON and CSV print them with enough digits to give back the same float32.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.data.trailers import collect_inputs
from moviegenre.features.decode import TrailerError
from moviegenre.predict.result import TrailerResult, exit_code, problem_results

FORMATS = ("json", "csv")
CSV_FIXED = ("path", "status", "reason", "detail", "silent", "duration_s")


def audio_results(paths: Sequence[Path], config: Mapping[str, Any]) -> list[TrailerResult]:
    """The pipeline's audio vector of every file (``config``: validated params.yaml)."""
    from moviegenre.features.trailer import audio_features_for

    min_duration = float(config["extraction"]["min_duration_s"])
    results = []
    for path in paths:
        try:
            vector, silent, duration = audio_features_for(Path(path), config["audio"], min_duration)
        except TrailerError as exc:
            results.append(TrailerResult(str(path), False, exc.reason, exc.detail))
            continue
        except Exception as exc:  # noqa: BLE001 - as the shard job: one bad file, not the batch
            results.append(TrailerResult(str(path), False, "decode_error", f"{exc}"))
            continue
        results.append(
            TrailerResult(
                str(path), True, silent=bool(silent), audio_vector=vector, duration_s=duration
            )
        )
    return results


def _floats(vector: np.ndarray) -> list[float]:
    """float32 values as Python floats: their repr reads back as the same float32."""
    return [float(v) for v in np.asarray(vector, dtype=np.float32)]


def render_json(results: Sequence[TrailerResult], names: Sequence[str], audio: Mapping) -> str:
    """One document: the value names, the audio parameters, and each file's values."""
    files = []
    for r in results:
        item: dict[str, Any] = {"path": r.path, "status": "ok" if r.ok else "failed"}
        if r.ok:
            item.update(silent=r.silent, duration_s=r.duration_s, values=_floats(r.audio_vector))
        else:
            item.update(reason=r.reason, detail=r.detail)
        files.append(item)
    payload = {"names": list(names), "audio": dict(audio), "files": files}
    return json.dumps(payload, indent=1) + "\n"


def render_csv(results: Sequence[TrailerResult], names: Sequence[str], audio: Mapping) -> str:
    """A row per file: status, reason, and one column per audio value (empty if none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CSV_FIXED, *names])
    for r in results:
        fixed = [r.path, "ok" if r.ok else "failed", r.reason, r.detail]
        if r.ok:
            writer.writerow(
                [*fixed, int(r.silent), repr(r.duration_s), *map(repr, _floats(r.audio_vector))]
            )
        else:
            writer.writerow([*fixed, "", "", *([""] * len(names))])
    return buffer.getvalue()


RENDERERS = {"json": render_json, "csv": render_csv}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `moviegenre audio-features` (cli.py adds the subcommand)."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="video files and/or folders")
    parser.add_argument("--format", choices=FORMATS, default="json", help="output format")


EPILOG = (
    "values in the pipeline's order: delta (65), MFCC (65), LPC (10), named in the output. "
    "exit status: 0 every file has its vector; 1 some file has none (each is reported with "
    "its reason); 2 bad usage or params."
)


def run(args: argparse.Namespace, config: Mapping[str, Any]) -> int:
    """Compute, print to stdout, and return the exit status."""
    from moviegenre.features.audio_layout import audio_feature_names

    files, problems = collect_inputs(args.paths)
    results = audio_results(files, config) + problem_results(problems)
    audio = config["audio"]
    names = audio_feature_names(int(audio["n_mfcc"]), int(audio["lpc_order"]))
    for r in results:
        if not r.ok:
            print(f"moviegenre audio-features: {r.path}: {r.reason}: {r.detail}", file=sys.stderr)
    sys.stdout.write(RENDERERS[args.format](results, names, audio))
    sys.stdout.flush()
    return exit_code(results)  # never EXIT_AUDIO_MISSING: no result here is a fallback
