"""The prediction bundle: everything `moviegenre predict` needs, without the training data.

``models/bundle/`` holds copies of the visual models (``.keras``: each visual model is the
k fold models of the cross-fitting, averaged, as the oof stage scores test trailers) and
the SVMs (``.skops``) next to a ``manifest.json`` recording how the features the models
learnt from were made (backbone and weights, frame sampling, audio parameters, frame
counts), the thresholds and out-of-fold / validation metrics per model, and the default
model. Prediction reads feature parameters only from the manifest, never from
params.yaml, so a later edit of params.yaml cannot make predictions drift from what the
models were trained on, and reads its model once, as a ResolvedModel (Bundle.resolve).

The bundle is built in a temporary folder beside the target and renamed into place, so
an interrupted build never leaves a half bundle that loads. A reader cannot rely on that
alone (`dvc repro` deletes models/bundle before the stage rebuilds it), so prediction
copies each model file it uses to a private folder, hashing the bytes it copies, and
compares them with the manifest it opened (Bundle.verified_files): a rebuild during a run
ends it with BundleChanged, never with one bundle's thresholds on another's models.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre import __version__, paths
from moviegenre.config import current_value
from moviegenre.features.backbones import DEFAULT_INPUT_SIZE, DEFAULT_VGG16_LAYER
from moviegenre.features.trailer import AUDIO_KEYS, FRAMES_KEYS
from moviegenre.fusion.policy import FALLBACK, train_prevalence, trained_with_audio
from moviegenre.registry import AUDIO_MODEL, EVALUATED_MODELS, VISUAL_MODELS, fused_name

log = logging.getLogger("moviegenre.bundle")

BUNDLE_DIR = paths.BUNDLE
MANIFEST = "manifest.json"
FORMAT = "moviegenre-bundle"
FORMAT_VERSION = 1
DEFAULT_RULE = (
    "best fusion model whose SVMs learnt from audio, by out-of-fold auprc_macro (then "
    "auprc_micro); the best visual model when no SVM could be fitted"
)

THRESHOLDS = paths.THRESHOLDS
METRICS = paths.METRICS_DETAIL
DATASET_REPORT = paths.DATASET / paths.DATASET_REPORT
DATASET_INDEX = paths.DATASET / paths.DATASET_INDEX

#: manifest key -> expected JSON type; load_bundle names the first key that is wrong
REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "moviegenre_version": str,
    "genres": list,
    "backbone": dict,
    "frames": dict,
    "audio": dict,
    "extraction": dict,
    "max_frames": int,
    "n_frames": int,
    "models": dict,
    "thresholds": dict,
    "metrics": dict,
    "default_model": str,
    "audio_prevalence": dict,
    "params": dict,
}
BACKBONE_KEYS = ("name", "weights", "dim", "batch_size")


class BundleError(RuntimeError):
    """A bundle that cannot be built or loaded; the message names the file or key at fault."""


class BundleChanged(BundleError):
    """A bundle file no longer matches the manifest a run opened (the bundle was rebuilt)."""


def weights_kind(weights: str) -> str:
    """'none' (random init), 'imagenet' (Keras' download cache) or 'file' (a local path)."""
    return weights if weights in ("none", "imagenet") else "file"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_hashed(source: Path, target: Path) -> str:
    """Copy `source` to `target` and return the sha256 of the bytes copied: one read, so
    the hash is that of exactly what the copy holds."""
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(target, "wb") as writer:
        for block in iter(lambda: reader.read(1 << 20), b""):
            digest.update(block)
            writer.write(block)
    return digest.hexdigest()


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise BundleError(f"{path} is missing: run `dvc repro` up to the evaluate stage first")
    return json.loads(path.read_text(encoding="utf-8"))


# ---- building ------------------------------------------------------------------------------


def _backbone_record(config: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    """What embedded the frames the models learnt from, checked against params.yaml.

    The dataset report's visual metadata is what the features were actually made with; a
    disagreement with params.yaml means results/ is stale, and a bundle built from it would
    predict with other features than the models saw.
    """
    params = config["backbone"]
    meta = report.get("visual_metadata") or {}
    record: dict[str, Any] = {
        "name": str(params["name"]),
        "weights": str(params["weights"]),
        "batch_size": int(params["batch_size"]),
        "dim": int(report.get("dim") or meta.get("dim") or 0),
        "input_size": list(meta.get("input_size") or DEFAULT_INPUT_SIZE),
        "features_source": "backbone",
    }
    if record["name"] == "vgg16":  # backbone.layer (docs/method.md: fc1 as the seed)
        record["layer"] = str(params.get("layer") or DEFAULT_VGG16_LAYER)
    if meta.get("source") == "lmtd9_pickle":
        # LMTD-9's own ResNet-152 features (key frames of its extraction): the nearest this
        # project can compute from a video is ResNet-152 with ImageNet weights.
        weights = str(params["weights"]) if params["name"] == "resnet152" else "imagenet"
        record.update(name="resnet152", weights=weights, features_source="lmtd9_pickle")
    elif meta:
        stale = []
        if meta.get("backbone") != record["name"]:
            stale.append(f"backbone {meta.get('backbone')!r} != {record['name']!r}")
        if meta.get("weights") != record["weights"]:
            stale.append(f"weights {meta.get('weights')!r} != {record['weights']!r}")
        if meta.get("layer") != record.get("layer"):
            stale.append(f"layer {meta.get('layer')!r} != {record.get('layer')!r}")
        if meta.get("frames") and dict(meta["frames"]) != dict(config["frames"]):
            stale.append(f"frames {meta['frames']} != {dict(config['frames'])}")
        if stale:
            raise BundleError(
                "the dataset's visual features were made with other parameters than "
                f"params.yaml ({'; '.join(stale)}): rerun `dvc repro` before bundling"
            )
    if record["dim"] <= 0:
        raise BundleError(f"{DATASET_REPORT}: no feature dimension ('dim')")
    if weights_kind(record["weights"]) == "file":
        path = Path(record["weights"])
        if not path.is_file():
            raise BundleError(f"backbone weights file not found: {path}")
        record.update(
            weights_path=str(path.resolve()),
            weights_sha256=sha256_of(path),
            weights_bytes=path.stat().st_size,
        )
    return record


def _train_prevalence(genres: list[str]) -> dict[str, float]:
    """The audio model's score for a trailer without sound, computed as the audio_svm stage
    does (moviegenre.fusion.policy.train_prevalence on the data set's index)."""
    import pandas as pd

    if not DATASET_INDEX.is_file():
        raise BundleError(f"{DATASET_INDEX} is missing: run `dvc repro dataset` first")
    index = pd.read_parquet(DATASET_INDEX, columns=["split", *genres])
    try:
        rates = train_prevalence(index[genres].to_numpy(), index["split"].to_numpy())
    except ValueError as exc:
        raise BundleError(f"{DATASET_INDEX}: {exc}") from exc
    return {g: float(v) for g, v in zip(genres, rates, strict=True)}


def _default_model(
    chosen_on: Mapping[str, Mapping[str, Any]], fallbacks: frozenset[str] = frozenset()
) -> str:
    """The fusion with the best AU-PRC macro on `chosen_on` (the metrics detail's out-of-fold
    section: every non-test trailer; micro breaks ties, then order). Never test.

    `fallbacks` (SVM models that learnt no audio, e.g. LMTD-9's features without trailers)
    are never the default: such a fusion is a copy of its visual model and the audio model
    the class frequencies, so the best visual model is chosen instead.
    """

    def score(model: str) -> tuple[float, float]:
        metrics = chosen_on.get(model) or {}
        values = (metrics.get("auprc_macro"), metrics.get("auprc_micro"))
        return tuple(-np.inf if v is None else float(v) for v in values)  # type: ignore[return-value]

    usable = [m for m in EVALUATED_MODELS if m in chosen_on and m not in fallbacks]
    fusions = [fused_name(m) for m in VISUAL_MODELS]
    candidates = [m for m in usable if m in fusions] or [m for m in usable if m in VISUAL_MODELS]
    if not candidates:
        raise BundleError(f"{METRICS}: no out-of-fold or validation metrics for any model")
    return max(candidates, key=lambda m: (*score(m), -candidates.index(m)))


def fallback_models(models: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """Manifest models whose SVMs learnt no audio: every score they give is the no-audio
    fallback (a fusion's visual model's scores, the audio model's training prevalence)."""
    return frozenset(m for m, e in models.items() if e.get("trained_with_audio") is False)


ModelFiles = dict[str, tuple[list[tuple[Path, str]], dict[str, Any]]]


def _model_files(folds: int) -> ModelFiles:
    """model -> ([(source file, file inside the bundle)], description).

    A visual model is its `folds` fold models (models/folds/<model>/fold-<i>.keras), whose
    mean is the model's score, as in the oof stage; an SVM model is one file.
    """
    files: ModelFiles = {}
    for name in VISUAL_MODELS:
        files[name] = (
            [
                (paths.fold_model_path(name, i), f"models/{name}/fold-{i}.keras")
                for i in range(folds)
            ],
            {"kind": "visual", "combine": "mean"},
        )
    files[AUDIO_MODEL] = (
        [(paths.svm_path(AUDIO_MODEL), f"svm/{AUDIO_MODEL}.skops")],
        {"kind": "audio", "without_audio": FALLBACK["audio"]},
    )
    for name in VISUAL_MODELS:
        fused = fused_name(name)
        files[fused] = (
            [(paths.svm_path(fused), f"svm/{fused}.skops")],
            {"kind": "fusion", "visual_model": name, "without_audio": FALLBACK["fusion"]},
        )
    return files


def _fold_count(config: Mapping[str, Any]) -> int:
    return int(config["stacking"]["folds"])


def _entry_files(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The files of one manifest model entry: a visual model's folds, else its one file."""
    return list(entry.get("folds") or [{"file": entry["file"], "sha256": entry.get("sha256")}])


def _trained_with_audio(model: str) -> bool:
    """Whether the SVMs of this model learnt from audio, as the saved SVMs themselves say
    (fitted, and no unfitted note from the fuse stage: moviegenre.fusion.policy)."""
    from moviegenre.fusion.svm import load_svms

    return trained_with_audio(load_svms(paths.svm_path(model)))


def _environment() -> dict[str, str]:
    """Library versions the models were saved with (a mismatch is the first thing to check)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("keras", "tensorflow", "tensorflow-cpu", "scikit-learn", "skops", "av"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def feature_code() -> dict[str, str]:
    """Fingerprints of the feature code (the Snakemake rules' rerun trigger), so prediction
    can tell when it runs other feature code than the pipeline's features came from."""
    from moviegenre.features.code_version import feature_code_version

    return {kind: feature_code_version(kind) for kind in ("visual", "audio")}


def make_manifest(config: Mapping[str, Any], copy_to: Path) -> dict[str, Any]:
    """The manifest for the current results/ and models/, each model file copied to
    `copy_to` (its place inside the bundle) and hashed as it is copied: the recorded hash is
    that of the copy, and each file is read once."""

    def digest(source: Path, inside: str) -> str:
        (copy_to / inside).parent.mkdir(parents=True, exist_ok=True)
        return copy_hashed(source, copy_to / inside)

    report = _read_json(DATASET_REPORT)
    thresholds = _read_json(THRESHOLDS)
    metrics = _read_json(METRICS)
    genres = [str(g) for g in report["genres"]]
    models: dict[str, Any] = {}
    for name, (sources, description) in _model_files(_fold_count(config)).items():
        for source, _ in sources:
            if not source.is_file():
                raise BundleError(f"{source} is missing: run `dvc repro` first")
        if name not in thresholds.get("models", {}):
            raise BundleError(f"{THRESHOLDS}: no thresholds for model {name!r}")
        missing = [g for g in genres if g not in thresholds["models"][name]]
        if missing:
            raise BundleError(f"{THRESHOLDS}: model {name!r} has no threshold for {missing}")
        parts = [{"file": inside, "sha256": digest(source, inside)} for source, inside in sources]
        models[name] = {**description, **parts[0]}
        if description["kind"] == "visual":
            models[name]["folds"] = parts
        if description["kind"] != "visual":
            # False when the data set had no usable audio (e.g. LMTD-9's pickle alone): the
            # SVMs are unfitted and prediction applies the no-audio fallback to every trailer.
            models[name]["trained_with_audio"] = _trained_with_audio(name)
    valid = metrics.get("valid") or {}
    oof = metrics.get("oof") or {}
    test = metrics.get("test") or {}
    keys = ("auprc_micro", "auprc_macro")
    extraction = {"min_duration_s": float(config["extraction"]["min_duration_s"])}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "moviegenre_version": __version__,
        "genres": genres,
        "backbone": _backbone_record(config, report),
        "frames": dict(config["frames"]),
        "audio": dict(config["audio"]),
        "extraction": extraction,
        "max_frames": int(config["dataset"]["max_frames"]),
        "n_frames": int(report["n_frames"]),
        "feature_code": feature_code(),
        "models": models,
        "thresholds": {
            "split": thresholds.get("split"),
            "models": {m: {g: float(thresholds["models"][m][g]) for g in genres} for m in models},
        },
        "metrics": {
            "valid": {m: {k: (valid.get(m) or {}).get(k) for k in keys} for m in models},
            "oof": {m: {k: (oof.get(m) or {}).get(k) for k in keys} for m in models},
            "test": {m: {k: (test.get(m) or {}).get(k) for k in keys} for m in models},
        },
        "default_model": _default_model(oof or valid, fallback_models(models)),
        "default_model_rule": DEFAULT_RULE,
        # which rows the fusion SVMs learnt from: under `original` their train+valid scores
        # (the default model's figure) are in-sample, not out-of-fold (predict says so)
        "fusion_protocol": str(config["fusion"]["protocol"]),
        "audio_prevalence": _train_prevalence(genres),
        "dataset": {
            "n_trailers": report.get("n_trailers"),
            "splits": report.get("splits"),
            "visual_metadata": report.get("visual_metadata"),
        },
        "params": {
            "backbone": dict(config["backbone"]),
            "frames": dict(config["frames"]),
            "audio": dict(config["audio"]),
            "dataset": dict(config["dataset"]),
            "extraction": extraction,
        },
        "environment": _environment(),
    }


def build(config: Mapping[str, Any], out_dir: Path = BUNDLE_DIR) -> Path:
    """Write the bundle to ``out_dir`` atomically: built beside it, then renamed over it.

    Between the two renames (old bundle aside, new one in) the folder is briefly absent,
    never half written.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    for leftover in (tmp, old):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        tmp.mkdir()
        # the manifest records the hashes of the copies, computed while copying
        manifest = make_manifest(config, copy_to=tmp)
        text = json.dumps(manifest, indent=2) + "\n"
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    log.info(
        "bundle: %s (%d models, default %s, backbone %s/%s)",
        out_dir,
        len(manifest["models"]),
        manifest["default_model"],
        manifest["backbone"]["name"],
        manifest["backbone"]["weights"],
    )
    return out_dir


# ---- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleFile:
    """One file of a model in the bundle, and the sha256 the manifest records for it."""

    path: Path
    inside: str  # its path inside the bundle, as the manifest names it
    sha256: str | None


@dataclass(frozen=True, eq=False)  # eq=False: thresholds is an array
class ResolvedModel:
    """One model of a bundle, read from the manifest once: everything `predict` needs to
    load it and score with it (the predictor never goes back to the manifest's entry)."""

    name: str
    kind: str  # "visual" (fold models, averaged), "audio" or "fusion" (SVMs)
    files: tuple[BundleFile, ...]  # a visual model's fold models, else its SVMs' one file
    thresholds: np.ndarray  # float64 [G], in the bundle's genre order
    trained_with_audio: bool = True  # False: SVMs never fitted, every score is the fallback
    visual: ResolvedModel | None = None  # a fusion's visual model

    @property
    def visual_model(self) -> str | None:
        """The visual model whose scores it reads: itself, a fusion's, none for audio."""
        if self.kind == "visual":
            return self.name
        return self.visual.name if self.visual is not None else None


@dataclass(frozen=True)
class Bundle:
    """A loaded, validated bundle: the manifest and where its files are."""

    directory: Path
    manifest: dict[str, Any]

    @property
    def genres(self) -> list[str]:
        return list(self.manifest["genres"])

    @property
    def models(self) -> list[str]:
        return list(self.manifest["models"])

    @property
    def default_model(self) -> str:
        return str(self.manifest["default_model"])

    @property
    def fusion_protocol(self) -> str | None:
        """Which rows the fusion SVMs learnt from (params.yaml's fusion.protocol), by its
        current name (a bundle built before a rename records the old one); None if unknown."""
        recorded = self.manifest.get("fusion_protocol")
        return None if recorded is None else str(current_value("fusion.protocol", recorded))

    def model_entry(self, name: str) -> dict[str, Any]:
        if name not in self.manifest["models"]:
            raise BundleError(f"unknown model {name!r}; this bundle has: {', '.join(self.models)}")
        return dict(self.manifest["models"][name])

    def resolve(self, name: str | None = None) -> ResolvedModel:
        """Model `name` (default: the bundle's default) with its files, thresholds and, for a
        fusion, its visual model; BundleError naming the choices for an unknown name."""
        name = name or self.default_model
        entry = self.model_entry(name)
        files = tuple(
            BundleFile(self.directory / part["file"], part["file"], part.get("sha256"))
            for part in _entry_files(entry)
        )
        visual = self.resolve(entry["visual_model"]) if entry["kind"] == "fusion" else None
        return ResolvedModel(
            name=name,
            kind=str(entry["kind"]),
            files=files,
            thresholds=self.thresholds(name),
            trained_with_audio=entry.get("trained_with_audio") is not False,
            visual=visual,
        )

    @contextlib.contextmanager
    def verified_files(self, model: str | ResolvedModel) -> Iterator[list[Path]]:
        """Private copies of a model's files, each hashed as it is copied and compared with
        the manifest this Bundle was opened with; deleted on exit (load them inside).

        BundleChanged, naming the bundle, when a file is gone or differs: the bundle was
        rebuilt since it was opened, and its thresholds no longer go with its files.
        """
        if isinstance(model, str):
            model = self.resolve(model)
        with tempfile.TemporaryDirectory(prefix="moviegenre-bundle-") as private:
            copies = []
            for i, part in enumerate(model.files):
                copy = Path(private) / f"{i}-{part.path.name}"
                try:
                    found = copy_hashed(part.path, copy)
                except FileNotFoundError:
                    found = None
                if part.sha256 and found != part.sha256:
                    state = "is gone" if found is None else "differs from the manifest"
                    raise BundleChanged(
                        f"{self.directory}: the bundle changed while this run read it "
                        f"({part.inside} {state} opened at the start; was it rebuilt, e.g. "
                        "by `dvc repro`?): run again once the rebuild has finished"
                    )
                copies.append(copy)
            yield copies

    def thresholds(self, name: str) -> np.ndarray:
        cut = self.manifest["thresholds"]["models"][name]
        return np.array([float(cut[g]) for g in self.genres], dtype=np.float64)

    def weights_file(self) -> Path | None:
        """The backbone weights file; None for 'none' / 'imagenet'.

        The path as recorded if it exists (a relative one is read from the current folder,
        as the pipeline did), else its absolute form at bundle time, which is returned even
        when missing so that the caller can say where it looked.
        """
        backbone = self.manifest["backbone"]
        if weights_kind(str(backbone["weights"])) != "file":
            return None
        recorded = Path(backbone["weights"])
        if recorded.is_file():
            return recorded
        return Path(backbone.get("weights_path") or recorded)

    def checked_weights_file(self, override: str | Path | None = None) -> Path | None:
        """The weights file to build the backbone from: ``override`` (the file moved; it
        must have the recorded sha256), else the recorded one; None for 'none' /
        'imagenet'. BundleError when it is missing or not the file the models learnt with."""
        backbone = self.manifest["backbone"]
        if override is None:
            path = self.weights_file()
            if path is not None and not path.is_file():
                raise BundleError(
                    f"the backbone weights file recorded in the bundle is missing: "
                    f"{backbone['weights']} (absolute: {backbone.get('weights_path')}); "
                    "put it back or pass --backbone-weights FILE"
                )
            return path
        if weights_kind(str(backbone["weights"])) != "file":
            raise BundleError(
                f"--backbone-weights applies to bundles made with a weights file; this "
                f"one uses {str(backbone['weights'])!r}"
            )
        override = Path(override)
        if not override.is_file():
            raise BundleError(f"backbone weights file not found: {override}")
        expected = backbone.get("weights_sha256")
        if expected and sha256_of(override) != expected:
            raise BundleError(
                f"{override} is not the weights file the models were trained with "
                f"(sha256 differs from the bundle's record of {backbone['weights']})"
            )
        return override


def _check_section(manifest: Mapping[str, Any], section: str, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in manifest[section]]
    if missing:
        raise BundleError(f"manifest key {section!r} lacks {', '.join(missing)}")


def validate_manifest(manifest: Any, directory: Path, verify_hashes: bool = True) -> None:
    """Raise BundleError naming the first missing key, wrong type or missing/changed file."""
    where = directory / MANIFEST
    if not isinstance(manifest, dict):
        raise BundleError(f"{where}: expected a JSON object")
    for key, kind in REQUIRED_KEYS.items():
        if key not in manifest:
            raise BundleError(f"{where}: missing key {key!r}")
        if not isinstance(manifest[key], kind) or isinstance(manifest[key], bool):
            raise BundleError(f"{where}: key {key!r} should be {getattr(kind, '__name__', kind)}")
    if manifest["format"] != FORMAT:
        raise BundleError(f"{where}: not a moviegenre bundle (format {manifest['format']!r})")
    if manifest["format_version"] > FORMAT_VERSION:
        raise BundleError(
            f"{where}: bundle format {manifest['format_version']} is newer than this "
            f"moviegenre ({__version__}) reads ({FORMAT_VERSION}): upgrade moviegenre"
        )
    _check_section(manifest, "backbone", BACKBONE_KEYS)
    _check_section(manifest, "frames", FRAMES_KEYS)
    _check_section(manifest, "audio", AUDIO_KEYS)
    _check_section(manifest, "extraction", ("min_duration_s",))
    genres = manifest["genres"]
    if not genres:
        raise BundleError(f"{where}: 'genres' is empty")
    cut = manifest["thresholds"].get("models")
    if not isinstance(cut, dict):
        raise BundleError(f"{where}: missing key 'thresholds.models'")
    for name, entry in manifest["models"].items():
        if not isinstance(entry, dict) or "file" not in entry or "kind" not in entry:
            raise BundleError(f"{where}: models.{name} needs 'file' and 'kind'")
        if entry["kind"] == "fusion" and entry.get("visual_model") not in manifest["models"]:
            raise BundleError(f"{where}: models.{name}.visual_model is not a model of the bundle")
        if name not in cut or any(g not in cut[name] for g in genres):
            raise BundleError(f"{where}: missing key 'thresholds.models.{name}' (every genre)")
        for part in _entry_files(entry):
            path = directory / part["file"]
            if not path.is_file():
                raise BundleError(f"{directory}: missing file {part['file']} (model {name})")
            if verify_hashes and part.get("sha256") and sha256_of(path) != part["sha256"]:
                raise BundleError(
                    f"{path}: content differs from the manifest's sha256 (model {name})"
                )
    if manifest["default_model"] not in manifest["models"]:
        raise BundleError(f"{where}: default_model {manifest['default_model']!r} is not a model")
    if any(g not in manifest["audio_prevalence"] for g in genres):
        raise BundleError(f"{where}: missing key 'audio_prevalence' for some genre")


def load_bundle(directory: Path | str = BUNDLE_DIR, verify_hashes: bool = True) -> Bundle:
    """Read and validate a bundle; warn when its backbone weights file is not where recorded.

    ``verify_hashes`` hashes every file of every model now (a full check of the bundle). A
    caller that goes on to load models passes False: Bundle.verified_files hashes each file
    it loads, so that every file is hashed once.
    """
    directory = Path(directory)
    where = directory / MANIFEST
    if not directory.is_dir():
        raise BundleError(f"no bundle at {directory}: run `dvc repro bundle` (or pass --bundle)")
    if not where.is_file():
        raise BundleError(f"{directory}: missing file {MANIFEST}")
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{where}: not valid JSON ({exc})") from exc
    except FileNotFoundError as exc:  # removed since the check above (a rebuild)
        raise BundleError(f"{directory}: missing file {MANIFEST}") from exc
    validate_manifest(manifest, directory, verify_hashes)
    bundle = Bundle(directory, manifest)
    weights = bundle.weights_file()
    if weights is not None and not weights.is_file():
        log.warning(
            "bundle %s: backbone weights file %s is missing (recorded as %s); predicting "
            "needs it (or --backbone-weights with the same file)",
            directory,
            manifest["backbone"].get("weights_path"),
            manifest["backbone"]["weights"],
        )
    return bundle
