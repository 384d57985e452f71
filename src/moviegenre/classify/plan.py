"""One classification run as workflow/classify.smk plans it: validated config, the bundle
and its model, the archive's shards, and where each output goes.

Everything the Snakefile needs is computed here, so the workflow holds rules only, and a
bad value stops the run before any job with one line naming it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from moviegenre import paths
from moviegenre.atomic import write_json_atomic, write_text_atomic
from moviegenre.bundle import Bundle, BundleError, ResolvedModel, load_bundle
from moviegenre.classify.archive import Archive, screen_archive
from moviegenre.classify.settings import FeatureSettings, feature_settings
from moviegenre.config import ConfigError
from moviegenre.predict import bundle_id

SCHEMA_RESOURCE = "schemas/classify.schema.yaml"
RUN_RECORD = "run.json"
#: when the last run began (Snakemake's onstart): its summary counts the shards it rewrote
RUN_STARTED = "run_started"
#: keys of params.yaml that classification takes from the bundle instead
BUNDLE_KEYS = ("frames", "backbone", "audio", "extraction", "dataset", "data")


def _refuse_bundle_keys(config: dict[str, Any]) -> None:
    given = [key for key in BUNDLE_KEYS if key in config]
    if given:
        raise ConfigError(
            f"classification takes {', '.join(given)} from the bundle's manifest, never from "
            "the config (features must be made as the models' training data was); do not "
            "pass params.yaml or these keys"
        )


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """The config with its defaults, or ConfigError listing every problem by key."""
    config = dict(config)
    _refuse_bundle_keys(config)
    schema = yaml.safe_load(
        resources.files("moviegenre").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    )
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: e.json_path
    )
    if errors:
        problems = [
            f"{e.json_path.removeprefix('$.') or '(top level)'}: {e.message}" for e in errors
        ]
        raise ConfigError("invalid classification config:\n  " + "\n  ".join(problems))
    for key, spec in schema["properties"].items():
        config.setdefault(key, spec.get("default"))
    for key in ("archive", "bundle", "out"):
        if config[key] is not None and ("{" in str(config[key]) or "}" in str(config[key])):
            raise ConfigError(f"{key}: {config[key]!r}: braces read as Snakemake wildcards")
    return config


@dataclass
class ClassifyRun:
    """The plan of one run; paths are relative to the working folder, as the rules use them."""

    config: dict[str, Any]
    bundle: Bundle
    bundle_id: str
    resolved: ResolvedModel  # the model that scores, as the bundle resolves it
    archive: Archive
    shards: dict[str, list[str]]
    settings: FeatureSettings
    out: Path

    @property
    def model(self) -> str:
        return self.resolved.name

    @property
    def needs_audio(self) -> bool:
        return self.resolved.kind != "visual"

    def features(self, kind: str, shard: str = "{shard}") -> str:
        return str(self.out / "features" / kind / f"shard-{shard}.parquet")

    def status(self, kind: str, shard: str = "{shard}") -> str:
        return str(paths.status_file(Path(self.features(kind, shard))))

    def scores(self, shard: str = "{shard}") -> str:
        return str(self.out / "shards" / f"shard-{shard}.parquet")

    def log(self, step: str, shard: str = "{shard}") -> str:
        return str(self.out / "logs" / step / f"shard-{shard}.log")

    @property
    def table(self) -> dict[str, str]:
        return {
            "parquet": str(self.out / "genres.parquet"),
            "csv": str(self.out / "genres.csv"),
            "summary": str(self.out / "summary.json"),
        }

    def shard_videos(self, shard: str) -> list[str]:
        return [str(self.archive.trailers[t]) for t in self.shards[shard]]

    def rejected_rows(self) -> list[list[str]]:
        """The refused folder entries as (name, reason, detail), for the table's rows."""
        return [[r.name, r.reason, r.detail] for r in self.archive.rejected]

    def record(self) -> dict[str, Any]:
        return {
            "bundle": str(self.bundle.directory),
            "bundle_id": self.bundle_id,
            "model": self.model,
            "archive": str(self.archive.folder),
        }

    def check_record(self) -> None:
        """Refuse an output folder that holds another bundle's or model's genres: its
        finished shards would be kept and mixed with this run's."""
        path = self.out / RUN_RECORD
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        mine = self.record()
        differ = [k for k in ("bundle_id", "model") if recorded.get(k) != mine[k]]
        if differ:
            raise ConfigError(
                f"{self.out} holds genres from bundle {recorded.get('bundle_id')} model "
                f"{recorded.get('model')}; this run uses bundle {self.bundle_id} model "
                f"{self.model}: give another output folder (--out, or out=) or remove "
                f"{self.out} (moviegenre classify --redo)"
            )

    @property
    def run_started(self) -> Path:
        return self.out / RUN_STARTED

    def start(self) -> None:
        """Snakemake's onstart: claim the output folder for this bundle and model, and mark
        when the run began."""
        write_json_atomic(self.out / RUN_RECORD, self.record())
        write_text_atomic(self.run_started, str(time.time_ns()))


def default_out(archive: str | Path) -> Path:
    """results/classify/<the archive folder's name>."""
    return paths.RESULTS / "classify" / Path(archive).resolve().name


def plan_run(config: dict[str, Any]) -> ClassifyRun:
    """Validate, open the bundle, screen the archive and split it into shards."""
    config = validate(config)
    archive_dir = Path(config["archive"])
    if not archive_dir.is_dir():
        raise ConfigError(f"archive: {archive_dir} is not a folder")
    try:
        bundle = load_bundle(config["bundle"])
        resolved = bundle.resolve(config["model"])  # BundleError naming the models
        settings = feature_settings(bundle, config["backbone_weights"])
    except BundleError as exc:
        raise ConfigError(str(exc)) from exc
    archive = screen_archive(archive_dir)
    out = Path(config["out"] or default_out(archive_dir))
    run = ClassifyRun(
        config=config,
        bundle=bundle,
        bundle_id=bundle_id(bundle),
        resolved=resolved,
        archive=archive,
        shards=archive.shards(config["shards"]),
        settings=settings,
        out=out,
    )
    run.check_record()
    return run
