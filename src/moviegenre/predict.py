"""Genres of new trailers from a bundle: `moviegenre predict PATH...`.

Features are computed by the very functions the extraction DAG runs, with the parameters
recorded in the bundle's manifest (not params.yaml), then padded and scored exactly as
training and the fuse stage do; so a trailer the pipeline also scored gets the same
probabilities. The backbone and the models are loaded once per batch; decoding of the
next trailers overlaps the network on the current one.

One bad file never stops a batch: it is reported by name with a reason, and the exit code
says so at the end. A trailer without usable sound is still predicted: fusion models fall
back to their visual model's scores and the audio model to the training prevalence, as the
fuse stage does, and the output flags it ``audio_missing``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.atomic import write_text_atomic
from moviegenre.bundle import (
    BUNDLE_DIR,
    MANIFEST,
    Bundle,
    BundleError,
    load_bundle,
    sha256_of,
    weights_kind,
)
from moviegenre.data.trailers import (
    VIDEO_EXTENSIONS,
    Rejected,
    check_video_path,
    screen_trailers,
)
from moviegenre.features.cores import available_cores
from moviegenre.fusion.policy import FALLBACK, TRAIN_PREVALENCE, VISUAL_SCORES, with_fallback

log = logging.getLogger("moviegenre.predict")

FORMATS = ("table", "json", "jsonl", "csv")
#: exit codes: every file predicted from all its inputs / some file not predicted /
#: every file predicted, but some without sound (fallback scores) / bad usage or bundle
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUDIO_MISSING = 0, 1, 2, 3
CSV_FIXED = ("path", "trailer_id", "model", "status", "reason", "detail", "audio_missing")
CSV_FIXED += ("audio_reason", "fallback", "predicted", "bundle_id")
#: --format json with --output: the document is rewritten (atomically) after this many new
#: trailers or seconds, and at the end
JSON_EVERY, JSON_EVERY_S = 10, 30.0


@dataclass
class TrailerFeatures:
    """What the models read for one trailer, stored as the DAG does (float16, float32)."""

    path: Path
    visual: np.ndarray | None  # float16 [frames, dim]; None when the model needs no frames
    audio: np.ndarray | None  # float32 [140]; None when the sound is missing or unusable
    audio_reason: str = ""  # why audio is None ("no_audio_stream: ...")
    silent: bool = False
    duration_s: float = float("nan")
    audio_flags: str = ""  # late_audio, cut (features.sound.audio_notes)


@dataclass
class TrailerResult:
    """One input file's outcome: probabilities in genre order, or the reason it has none."""

    path: str
    ok: bool
    reason: str = ""
    detail: str = ""
    probabilities: np.ndarray | None = None
    predicted: list[str] = field(default_factory=list)
    audio_missing: bool = False
    audio_reason: str = ""
    fallback: str = ""  # fusion.policy's fallback (visual_scores, train_prevalence) or ""
    silent: bool = False
    seconds: float = 0.0
    audio_flags: str = ""

    @property
    def trailer_id(self) -> str:
        return Path(self.path).stem


# ---- inputs --------------------------------------------------------------------------------


def collect_inputs(paths: Iterable[str | Path]) -> tuple[list[Path], list[TrailerResult]]:
    """Video files named or found in folders (non-recursive, VIDEO_EXTENSIONS), in order.

    A file named explicitly is taken whatever its extension (decoding decides); hidden
    files in folders are skipped; the same file twice is predicted once. A missing path, a
    folder without videos, and any entry the extraction would reject too (FIFO, folder or
    dangling link with a video extension, unreadable file, name not UTF-8) becomes an error
    result with the extraction's reason instead of stopping the batch or vanishing.
    """
    files: list[Path] = []
    errors: list[TrailerResult] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    def reject(path: Path, problem: Rejected) -> None:
        shown = str(path.parent / problem.name) if path.parent != Path(".") else problem.name
        errors.append(TrailerResult(shown, False, problem.reason, problem.detail))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, rejected = screen_trailers(path)
            for problem in rejected:
                reject(path / problem.name, problem)
            if not found and not rejected:
                errors.append(
                    TrailerResult(
                        str(path),
                        False,
                        "no_videos",
                        f"no {'/'.join(VIDEO_EXTENSIONS)} file in this folder",
                    )
                )
            for p in found.values():
                add(p)
        elif path.exists() or path.is_symlink():
            problem = check_video_path(path)
            if problem is None:
                add(path)
            else:
                reject(path, problem)
        else:
            errors.append(TrailerResult(str(path), False, "not_found", "no such file or folder"))
    return files, errors


# ---- the predictor -------------------------------------------------------------------------


class Predictor:
    """A bundle's backbone and one chosen model, loaded once, scoring trailer after trailer.

    ``model`` defaults to the bundle's default (best fusion by out-of-fold AU-PRC macro).
    ``backbone_weights`` replaces the recorded weights file when it has moved (it must be
    the same file: its sha256 is checked). ``embed=False`` scores features embedded
    elsewhere (`moviegenre classify`'s shard jobs): no backbone is built.
    """

    def __init__(
        self,
        bundle: Bundle,
        model: str | None = None,
        backbone_weights: str | Path | None = None,
        threads: int | None = None,
        embed: bool = True,
    ) -> None:
        self.bundle = bundle
        self.model = model or bundle.default_model
        self.entry = bundle.model_entry(self.model)  # BundleError for an unknown name
        self.kind = self.entry["kind"]
        self.visual_model = self.model if self.kind == "visual" else self.entry.get("visual_model")
        self.genres = bundle.genres
        self.thresholds = bundle.thresholds(self.model)
        manifest = bundle.manifest
        self.frames_cfg = dict(manifest["frames"])
        self.audio_cfg = dict(manifest["audio"])
        self.min_duration_s = float(manifest["extraction"]["min_duration_s"])
        self.max_frames = int(manifest["max_frames"])
        self.n_frames = int(manifest["n_frames"])
        # the cores to use: trailers decoded at once and TensorFlow's CPU threads
        self.threads = max(1, int(threads or available_cores()))
        self._keras: dict[str, Any] = {}
        self._svms: dict[str, Any] = {}
        from moviegenre.features.isolation import IsolatedWorker

        # one child computes every sound, one at a time (a lock): a native crash costs one
        # file, and the decoding threads never hold more than one (bounded) soundtrack
        self._audio_worker = IsolatedWorker()
        self.backbone = None
        self._check_weights(backbone_weights)

        from moviegenre.runtime import configure_tensorflow

        configure_tensorflow(threads=self.threads)
        if self.needs_visual and embed:
            self.backbone = self._build_backbone()
        self._load(self.model)

    # -- what the chosen model reads --

    @property
    def needs_visual(self) -> bool:
        return self.kind != "audio"

    @property
    def needs_audio(self) -> bool:
        return self.kind != "visual"

    def _check_weights(self, override: str | Path | None) -> None:
        backbone = self.bundle.manifest["backbone"]
        kind = weights_kind(str(backbone["weights"]))
        self.weights_spec = str(backbone["weights"])
        if override is not None:
            if kind != "file":
                raise BundleError(
                    f"--backbone-weights applies to bundles made with a weights file; this "
                    f"one uses {self.weights_spec!r}"
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
            self.weights_spec = str(override)
        elif kind == "file" and self.needs_visual:
            path = self.bundle.weights_file()
            if path is None or not path.is_file():
                raise BundleError(
                    f"the backbone weights file recorded in the bundle is missing: "
                    f"{backbone['weights']} (absolute: {backbone.get('weights_path')}); "
                    "put it back or pass --backbone-weights FILE"
                )
            self.weights_spec = str(path)
        if kind == "none" and self.needs_visual:
            log.warning(
                "backbone %s has weights 'none' (random initialisation, offline demo): "
                "its features are not ImageNet features",
                backbone["name"],
            )
        self._check_feature_code()
        if backbone.get("features_source") == "lmtd9_pickle" and self.needs_visual:
            log.warning(
                "the models learnt from LMTD-9's published ResNet-152 features; frames of "
                "new trailers are embedded with resnet152/%s, the nearest equivalent",
                self.weights_spec,
            )

    def _check_feature_code(self) -> None:
        """Warn when the feature code differs from the one the bundle's pipeline ran."""
        from moviegenre.bundle import feature_code

        recorded = self.bundle.manifest.get("feature_code") or {}
        current = feature_code()
        used = [k for k, on in (("visual", self.needs_visual), ("audio", self.needs_audio)) if on]
        changed = [k for k in used if recorded.get(k) and recorded[k] != current[k]]
        if changed:
            log.warning(
                "the %s feature code differs from the code the bundle's features were made "
                "with (moviegenre %s): scores may differ from the pipeline's; rebuild the "
                "bundle with `dvc repro`",
                " and ".join(changed),
                self.bundle.manifest["moviegenre_version"],
            )

    def _build_backbone(self) -> Any:
        from moviegenre.features.backbones import build_backbone

        backbone = self.bundle.manifest["backbone"]
        try:
            built = build_backbone(str(backbone["name"]), self.weights_spec, backbone.get("layer"))
        except Exception as exc:  # noqa: BLE001 - e.g. ImageNet weights not downloadable offline
            raise BundleError(
                f"cannot build backbone {backbone['name']} with weights {self.weights_spec!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if int(built.dim) != int(backbone["dim"]):
            raise BundleError(
                f"backbone {backbone['name']} gives {built.dim}-d features, the bundle's models "
                f"read {backbone['dim']}-d"
            )
        return built

    def _load(self, model: str) -> None:
        """Load a model (and a fusion's visual model) once; a file that does not load is a
        BundleError in one line naming it, like every other bundle problem (exit 2)."""
        try:
            self._load_unchecked(model)
        except BundleError:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras / skops raise many kinds
            reason = " ".join(str(exc).split())[:300]
            raise BundleError(
                f"{self.bundle.model_file(model)}: model {model} cannot be loaded "
                f"({type(exc).__name__}: {reason})"
            ) from exc

    def _load_unchecked(self, model: str) -> None:
        """Load from private copies checked against the manifest opened at the start
        (Bundle.verified_files): a bundle rebuilt meanwhile is BundleChanged, never mixed."""
        entry = self.bundle.model_entry(model)
        if entry["kind"] == "visual":
            if model not in self._keras:
                from moviegenre.models.train import load_model

                # the k fold models of the cross-fitting; their mean is the model's score
                with self.bundle.verified_files(model) as files:
                    self._keras[model] = [load_model(f) for f in files]
            return
        if model not in self._svms:
            from moviegenre.fusion.svm import load_svms

            with self.bundle.verified_files(model) as (file,):
                self._svms[model] = load_svms(file)
        if entry["kind"] == "fusion":
            self._load(entry["visual_model"])

    # -- features --

    def features(self, path: Path) -> TrailerFeatures:
        """Decode one trailer and compute its audio vector; TrailerError if it is unusable.

        Acceptance and decoding are the extraction DAG's own functions (frames are decoded
        even for the audio model: the DAG keeps no trailer without them). Any audio failure
        only marks the sound missing, as in the DAG, where such a trailer stays in the data
        set without audio.
        """
        from moviegenre.features.sound import audio_notes
        from moviegenre.features.trailer import audio_features_noted, decode_for_embedding, failure

        path = Path(path)
        _, frames, duration = decode_for_embedding(path, self.frames_cfg, self.min_duration_s)
        feats = TrailerFeatures(path, frames if self.needs_visual else None, None)
        feats.duration_s = duration
        if self.needs_audio:
            try:
                vector, silent, _, notes = self._audio_worker.call(
                    path, audio_features_noted, path, self.audio_cfg, self.min_duration_s
                )
                feats.audio = np.asarray(vector, dtype=np.float32)
                feats.silent = bool(silent)
                feats.audio_flags = audio_notes(False, notes)[0]
            except Exception as exc:  # noqa: BLE001 - the DAG drops the sound, not the trailer
                feats.audio_reason = ": ".join(failure(exc))
        return feats

    def embed(self, feats: TrailerFeatures) -> TrailerFeatures:
        """Replace decoded frames by backbone features (float16, as the shards store them)."""
        if feats.visual is not None and self.backbone is not None:
            batch = int(self.bundle.manifest["backbone"]["batch_size"])
            feats.visual = self.backbone.embed(feats.visual, batch)
        return feats

    # -- scoring --

    def visual_scores(self, model: str, visual: np.ndarray) -> np.ndarray:
        self._load(model)
        x = visual_input(visual, self.max_frames, self.n_frames)
        probs = [
            np.asarray(m.predict_on_batch(x), np.float32).reshape(-1) for m in self._keras[model]
        ]
        return np.mean(probs, axis=0).astype(np.float32)

    def score(self, feats: TrailerFeatures, model: str | None = None) -> tuple[np.ndarray, str]:
        """(probabilities float32 [G], fallback used or ''), as the pipeline scores them."""
        model = model or self.model
        entry = self.bundle.model_entry(model)
        self._load(model)
        if entry["kind"] == "visual":
            return self.visual_scores(model, feats.visual), ""
        visual = None
        if entry["kind"] == "fusion":
            visual = self.visual_scores(entry["visual_model"], feats.visual)
        prevalence = self.bundle.manifest["audio_prevalence"]
        return svm_scores(
            entry["kind"],
            self._svms[model],
            feats.audio,
            visual,
            np.array([prevalence[g] for g in self.genres], np.float32),
            trained_with_audio=entry.get("trained_with_audio") is not False,
        )

    def result(self, feats: TrailerFeatures, display: str, seconds: float) -> TrailerResult:
        from moviegenre.evaluation.thresholds import apply_thresholds

        probs, fallback = self.score(feats)
        above = apply_thresholds(probs[None, :], self.thresholds)[0].astype(bool)
        return TrailerResult(
            path=display,
            ok=True,
            probabilities=probs,
            predicted=[g for g, hit in zip(self.genres, above, strict=True) if hit],
            audio_missing=self.needs_audio and feats.audio is None,
            audio_reason=feats.audio_reason if self.needs_audio else "",
            fallback=fallback,
            silent=feats.silent,
            seconds=seconds,
            audio_flags=feats.audio_flags,
        )

    def predict(
        self,
        files: Sequence[Path],
        on_result: Callable[[int, int, TrailerResult], None] | None = None,
    ) -> list[TrailerResult]:
        """Results in the order of ``files`` (see predict_each)."""
        results: list[TrailerResult] = []
        for result in self.predict_each(files):
            results.append(result)
            if on_result is not None:
                on_result(len(results), len(files), result)
        return results

    def predict_each(self, files: Sequence[Path]) -> Iterator[TrailerResult]:
        """Each file's result as soon as it is scored, in the order of ``files``; decoding
        runs ahead in threads (bounded), as in the extraction's shard jobs
        (features.trailer.decode_ahead). Nothing is kept once yielded."""
        from moviegenre.features.trailer import decode_ahead, failure

        last = time.monotonic()
        ahead = decode_ahead(files, self.features, self.threads, "predict-decode")
        for path, future in ahead:
            try:
                result = self.result(self.embed(future.result()), str(path), 0.0)
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                result = TrailerResult(str(path), False, *failure(exc))
            # wall time since the previous result: the batch's throughput per trailer
            now = time.monotonic()
            result.seconds, last = now - last, now
            yield result


def visual_input(visual: np.ndarray, max_frames: int, n_frames: int) -> np.ndarray:
    """float32 [1, max_frames, dim] from one trailer's features [frames, dim]: what the
    data set stored (its first n_frames frames) as training's batches feed it, padded or
    cut to max_frames by the same function (models.frames.pad_frames)."""
    from moviegenre.models.frames import pad_frames

    return pad_frames(np.asarray(visual)[None], max_frames, n_frames=n_frames)


def svm_scores(
    kind: str,
    svms: Any,
    audio: np.ndarray | None,
    visual: np.ndarray | None,
    prevalence: np.ndarray,
    trained_with_audio: bool = True,
) -> tuple[np.ndarray, str]:
    """(probabilities float32 [G], fallback name or '') of an ``audio`` or ``fusion`` model
    for one trailer: its SVMs on the audio vector (and, for a fusion, the visual model's
    scores), or the fuse stages' no-audio policy when ``audio`` is None or the SVMs never
    learnt from audio (the bundle's ``trained_with_audio``)."""
    from moviegenre.fusion.svm import fusion_features

    visual_row = None if visual is None else np.asarray(visual, np.float32)[None, :]
    has_audio = audio is not None and trained_with_audio
    scores = None
    if has_audio:
        x = fusion_features(np.asarray(audio)[None, :], visual_row)
        scores = svms.predict_proba(x)
    probs, missing = with_fallback(
        kind, scores, [has_audio], visual=visual_row, prevalence=prevalence
    )
    return probs[0], FALLBACK[kind] if missing[0] else ""


# ---- output --------------------------------------------------------------------------------


def score_basis(kind: str, fusion_protocol: str | None) -> str:
    """What the bundle's train+valid ("oof") figure of a `kind` model is, honestly named.

    Visual models are cross-fitted under every protocol, and the audio SVMs' scores are
    their own inner cross-validation's; a fusion's are out-of-fold only under
    `fusion.protocol: oof`: under `seed` its SVMs read in-sample visual scores.
    """
    if kind != "fusion" or fusion_protocol == "oof":
        return "out-of-fold"
    if fusion_protocol == "seed":
        return "in-sample (fusion.protocol seed)"
    return "train+valid"  # a bundle that does not record its protocol


def fallback_note(bundle: Bundle, model: str) -> str:
    """'' for a model with fitted SVMs (or a visual model); else what its scores really are."""
    entry = bundle.model_entry(model)
    if entry.get("trained_with_audio") is not False:
        return ""
    if entry["kind"] == "audio":
        return (
            f"{model} is a fallback: no SVM was fitted (no training trailer had audio); its "
            "scores are each genre's training prevalence, the same for every trailer"
        )
    return (
        f"{model} is a fallback: no SVM was fitted (no training trailer had audio); its "
        f"scores are {entry.get('visual_model')}'s"
    )


def bundle_id(bundle: Bundle) -> str:
    """The first 16 hex digits of the manifest's sha256: which bundle (and build of it)
    made an output file's rows."""
    return sha256_of(bundle.directory / MANIFEST)[:16]


def describe(bundle: Bundle, model: str | None = None) -> dict[str, Any]:
    """What every output format states about the run: model, thresholds, backbone."""
    model = model or bundle.default_model
    manifest = bundle.manifest
    valid = manifest["metrics"]["valid"].get(model) or {}
    oof = (manifest["metrics"].get("oof") or {}).get(model) or {}
    entry = bundle.model_entry(model)
    return {
        "bundle": str(bundle.directory),
        "bundle_id": bundle_id(bundle),
        "model": model,
        "default_model": bundle.default_model,
        "visual_model": model if entry["kind"] == "visual" else entry.get("visual_model"),
        "valid_auprc_macro": valid.get("auprc_macro"),
        "oof_auprc_macro": oof.get("auprc_macro"),
        "oof_basis": score_basis(entry["kind"], manifest.get("fusion_protocol")),
        "fusion_protocol": manifest.get("fusion_protocol"),
        "fallback": fallback_note(bundle, model) or None,
        "threshold_split": manifest["thresholds"].get("split"),
        "genres": bundle.genres,
        "thresholds": {
            g: float(t) for g, t in zip(bundle.genres, bundle.thresholds(model), strict=True)
        },
        "backbone": {k: manifest["backbone"][k] for k in ("name", "weights")},
    }


def _fallback_text(result: TrailerResult, context: dict[str, Any]) -> str:
    if result.fallback == VISUAL_SCORES:
        return f"{context['model']} used {context['visual_model']}'s visual scores"
    if result.fallback == TRAIN_PREVALENCE:
        return "audio model gave the training prevalence"
    return ""


def summary(results: Sequence[TrailerResult]) -> dict[str, int]:
    return {
        "files": len(results),
        "predicted": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "audio_missing": sum(r.ok and r.audio_missing for r in results),
    }


def table_block(r: TrailerResult, context: dict[str, Any]) -> list[str]:
    """One trailer's lines of the table: its path, genres and every probability; a failed
    file's reason (render_table lists those at the end, a streamed table in place)."""
    if not r.ok:
        return [r.path, f"  not predicted: {r.reason}: {r.detail}"]
    genres = context["genres"]
    width = max(len("genre"), *(len(g) for g in genres))
    lines = [r.path]
    if r.audio_missing:
        lines.append(f"  audio missing ({r.audio_reason}): {_fallback_text(r, context)}")
    lines.append(f"  genres: {', '.join(r.predicted) if r.predicted else '(none above threshold)'}")
    lines.append(f"  {'genre':<{width}}  probability  threshold")
    for g, p in zip(genres, r.probabilities, strict=True):
        t = context["thresholds"][g]
        bar = "#" * int(round(float(p) * 20))
        mark = "*" if p >= t else " "
        lines.append(f"  {g:<{width}}  {p:11.3f}  {t:9.3f} {mark} {bar}")
    return lines


def table_header(context: dict[str, Any]) -> list[str]:
    """The model line (and the fallback note) every table starts with."""
    rule = "default" if context["model"] == context["default_model"] else "chosen"
    score, where = context.get("oof_auprc_macro"), context.get("oof_basis", "out-of-fold")
    if score is None:
        score, where = context["valid_auprc_macro"], "validation"
    score_text = f", {where} AU-PRC macro {score:.3f}" if score is not None else ""
    lines = [
        f"model {context['model']} ({rule}{score_text}); thresholds from the "
        f"{context['threshold_split']} split; backbone {context['backbone']['name']} "
        f"(weights {context['backbone']['weights']})"
    ]
    if context.get("fallback"):
        lines.append(f"note: {context['fallback']}")
    return lines


def counts_line(counts: dict[str, int]) -> str:
    return (
        f"{counts['files']} files: {counts['predicted']} predicted, {counts['failed']} failed"
        + (f", {counts['audio_missing']} without audio" if counts["audio_missing"] else "")
    )


def render_table(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    """Per trailer: the genres above threshold, then every genre's probability."""
    lines = table_header(context)
    lines.insert(1, counts_line(summary(results)))
    for r in results:
        if r.ok:
            lines.append("")
            lines.extend(table_block(r, context))
    failed = [r for r in results if not r.ok]
    if failed:
        lines.append("")
        lines.append(f"not predicted ({len(failed)}):")
        lines.extend(f"  {r.path}: {r.reason}: {r.detail}" for r in failed)
    return "\n".join(lines) + "\n"


def _as_record(r: TrailerResult, context: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "path": r.path,
        "trailer_id": r.trailer_id,
        "status": "ok" if r.ok else "error",
    }
    if not r.ok:
        record.update(reason=r.reason, detail=r.detail)
        return record
    record.update(
        predicted=list(r.predicted),
        probabilities={
            g: float(p) for g, p in zip(context["genres"], r.probabilities, strict=True)
        },
        audio_missing=r.audio_missing,
        audio_reason=r.audio_reason or None,
        fallback=r.fallback or None,
        silent=r.silent,
        audio_flags=r.audio_flags or None,
        seconds=round(r.seconds, 3),
    )
    return record


def render_json(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    payload = {
        **context,
        "summary": summary(results),
        "trailers": [_as_record(r, context) for r in results],
    }
    return json.dumps(payload, indent=2) + "\n"


def csv_row(r: TrailerResult, context: dict[str, Any]) -> list[str]:
    """A file's CSV row (no field holds a line break: one row is one line)."""
    row = [r.path, r.trailer_id, context["model"], "ok" if r.ok else "error"]
    row += [r.reason, r.detail, str(r.audio_missing).lower(), r.audio_reason, r.fallback]
    row += [";".join(r.predicted), context.get("bundle_id", "")]
    row = [" ".join(field.splitlines()) for field in row]
    row += [repr(float(p)) for p in r.probabilities] if r.ok else [""] * len(context["genres"])
    return row


def csv_line(fields: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


def render_csv(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    """One row per file; genre columns hold probabilities (empty for failed files)."""
    lines = [csv_line([*CSV_FIXED, *context["genres"]])]
    lines += [csv_line(csv_row(r, context)) for r in results]
    return "".join(lines)


def jsonl_record(r: TrailerResult, context: dict[str, Any]) -> dict[str, Any]:
    """The JSON document's entry for a file, with the model and bundle that made it."""
    record = _as_record(r, context)
    return {
        "path": record.pop("path"),
        "trailer_id": record.pop("trailer_id"),
        "model": context["model"],
        "bundle_id": context.get("bundle_id"),
        **record,
    }


def render_jsonl(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    """JSON Lines: one object per file (the JSON document's entries, with model and bundle)."""
    return "".join(json.dumps(jsonl_record(r, context)) + "\n" for r in results)


RENDERERS = {
    "table": render_table,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
}


def exit_code(results: Sequence[TrailerResult]) -> int:
    if not results or any(not r.ok for r in results):
        return EXIT_FAILED
    if any(r.audio_missing for r in results):
        return EXIT_AUDIO_MISSING
    return EXIT_OK


# ---- --output: written as each trailer finishes, resumed by the next run ------------------


class OutputMismatch(RuntimeError):
    """--output holds rows another bundle or model made (or is not a predict output)."""


def _key(path: str) -> str:
    """What matches a file recorded in --output with an input: its absolute path."""
    return os.path.normpath(os.path.abspath(path))


class OutputFile:
    """`predict --output FILE`: each trailer's result is written when it is scored, so a
    killed run keeps the trailers already done, and the same command run again skips them.

    csv and jsonl get one line per trailer (one write call, flushed and fsynced: a kill
    leaves at most a partial last line, which the next run drops); table gets its blocks as
    they finish and the counts at the end; json, a single document, is rewritten atomically
    every JSON_EVERY trailers or JSON_EVERY_S seconds and at the end. Rows record the model
    and the bundle (bundle_id); rows of another bundle or model are refused (OutputMismatch)
    unless ``redo``, which starts the file afresh.
    """

    def __init__(self, path: Path, fmt: str, context: dict[str, Any], redo: bool = False):
        self.path, self.format, self.context, self.redo = path, fmt, context, redo
        self.done: dict[str, tuple[bool, bool]] = {}  # key -> (ok, audio_missing)
        self._keep = 0  # bytes of the existing file to keep (a torn last line is dropped)
        self._records: list[dict[str, Any]] = []  # json only: the document's entries
        self._fd: int | None = None
        self._unsaved, self._saved_at = 0, time.monotonic()

    # -- what is there already --

    def read(self) -> None:
        """Read what a previous run left (nothing with ``redo``); OutputMismatch if its rows
        are not this bundle's and model's."""
        if self.redo or not self.path.is_file() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        try:
            if self.format == "json":
                self._read_json(data.decode("utf-8"))
                return
            self._keep = data.rfind(b"\n") + 1  # a partial last line is dropped
            text = data[: self._keep].decode("utf-8")
            {"csv": self._read_csv, "jsonl": self._read_jsonl, "table": self._read_table}[
                self.format
            ](text)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._mismatch(f"it is not a {self.format} output of predict ({exc})") from exc

    def _mismatch(self, what: str) -> OutputMismatch:
        return OutputMismatch(
            f"--output {self.path} was not made with this bundle and model "
            f"(model {self.context['model']}, bundle {self.context['bundle']} "
            f"{self.context['bundle_id']}): {what}; use --redo to start it afresh, "
            "or another --output"
        )

    def _check(self, model: Any, bundle: Any) -> None:
        if model != self.context["model"] or bundle != self.context["bundle_id"]:
            raise self._mismatch(f"it holds rows of model {model}, bundle {bundle}")

    def _record(self, path: str, ok: bool, audio_missing: bool) -> None:
        self.done[_key(path)] = (ok, audio_missing)

    def _read_csv(self, text: str) -> None:
        lines = text.splitlines()
        if not lines:
            return
        header = next(csv.reader([lines[0]]))
        if header != [*CSV_FIXED, *self.context["genres"]]:
            raise self._mismatch("its columns are not this bundle's")
        for row in csv.reader(lines[1:]):
            if len(row) != len(header):
                raise ValueError(f"a row has {len(row)} fields, not {len(header)}")
            rec = dict(zip(header, row, strict=True))
            self._check(rec["model"], rec["bundle_id"])
            self._record(rec["path"], rec["status"] == "ok", rec["audio_missing"] == "true")

    def _read_jsonl(self, text: str) -> None:
        for line in text.splitlines():
            rec = json.loads(line)
            self._check(rec["model"], rec["bundle_id"])
            self._record(rec["path"], rec["status"] == "ok", bool(rec.get("audio_missing")))

    def _read_json(self, text: str) -> None:
        payload = json.loads(text)
        self._check(payload["model"], payload.get("bundle_id"))
        self._records = list(payload["trailers"])
        for rec in self._records:
            self._record(rec["path"], rec["status"] == "ok", bool(rec.get("audio_missing")))

    def _read_table(self, text: str) -> None:
        lines = text.split("\n")[:-1]
        header = [*table_header(self.context), self._bundle_line()]
        if lines[: len(header)] != header:
            raise self._mismatch("its first lines name another model or bundle")
        offset = sum(len(line.encode()) + 1 for line in lines[: len(header)])
        self._keep = offset  # up to the end of the last whole block: counts lines go
        for i in range(len(header), len(lines)):
            offset += len(lines[i].encode()) + 1
            line = lines[i]
            if not line.startswith("  "):
                continue
            self._keep = offset
            if lines[i - 1] and not lines[i - 1].startswith(" ") and not lines[i - 2]:
                failed = line.startswith("  not predicted: ")
                self._record(lines[i - 1], not failed, line.startswith("  audio missing"))

    def _bundle_line(self) -> str:
        return f"bundle {self.context['bundle']} ({self.context['bundle_id']})"

    def skips(self, path: str | Path) -> tuple[bool, bool] | None:
        """(ok, audio_missing) of a file this output already holds, else None."""
        return self.done.get(_key(str(path)))

    # -- writing --

    def open(self) -> None:
        """Start writing: the file afresh (or cut to its whole lines), and its header."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "json":
            self._save()
            return
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.ftruncate(self._fd, self._keep)
        if self._keep == 0:
            if self.format == "csv":
                self._write(csv_line([*CSV_FIXED, *self.context["genres"]]))
            elif self.format == "table":
                self._write("\n".join([*table_header(self.context), self._bundle_line()]) + "\n")

    def _write(self, text: str) -> None:
        """One write call, then to disk: a kill leaves whole lines and at most one torn."""
        assert self._fd is not None
        data = text.encode("utf-8")
        while data:
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)

    def add(self, r: TrailerResult) -> None:
        if self.format == "csv":
            self._write(csv_line(csv_row(r, self.context)))
        elif self.format == "jsonl":
            self._write(json.dumps(jsonl_record(r, self.context)) + "\n")
        elif self.format == "table":
            self._write("\n" + "\n".join(table_block(r, self.context)) + "\n")
        else:
            self._records.append(_as_record(r, self.context))
            self._unsaved += 1
            late = time.monotonic() - self._saved_at >= JSON_EVERY_S
            if self._unsaved >= JSON_EVERY or late:
                self._save()

    def _save(self, counts: dict[str, int] | None = None) -> None:
        if counts is None:
            counts = {"files": len(self._records), "predicted": 0, "failed": 0}
            counts["predicted"] = sum(r["status"] == "ok" for r in self._records)
            counts["failed"] = counts["files"] - counts["predicted"]
            counts["audio_missing"] = sum(bool(r.get("audio_missing")) for r in self._records)
        payload = {**self.context, "summary": counts, "trailers": self._records}
        write_text_atomic(self.path, json.dumps(payload, indent=2) + "\n")
        self._unsaved, self._saved_at = 0, time.monotonic()

    def close(self, counts: dict[str, int]) -> None:
        """The end of the run: the counts (table), the whole document (json)."""
        if self.format == "json":
            self._save()
        elif self.format == "table":
            self._write("\n" + counts_line(counts) + "\n")
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Counts:
    """The run's counts, all that is kept of each result when writing to --output."""

    def __init__(self) -> None:
        self.files = self.predicted = self.failed = self.audio_missing = self.skipped = 0

    def add(self, ok: bool, audio_missing: bool) -> None:
        self.files += 1
        self.predicted += ok
        self.failed += not ok
        self.audio_missing += ok and audio_missing

    def summary(self) -> dict[str, int]:
        return {
            "files": self.files,
            "predicted": self.predicted,
            "failed": self.failed,
            "audio_missing": self.audio_missing,
        }

    def exit_code(self) -> int:
        if not self.files or self.failed:
            return EXIT_FAILED
        return EXIT_AUDIO_MISSING if self.audio_missing else EXIT_OK


# ---- command line --------------------------------------------------------------------------


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


EPILOG = (
    "exit status: 0 all predicted; 1 some file not predicted (each is reported with its "
    "reason); 3 all predicted, but some without usable audio (fusion models then use their "
    "visual model's scores, the audio model the training prevalence); 2 bad usage or bundle."
)


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
    sink = None
    try:
        # hashes are checked as each model file is read (Predictor._load), not twice
        bundle = load_bundle(args.bundle, verify_hashes=False)
        context = describe(bundle, args.model)  # an unknown model fails before TensorFlow
        files, missing = collect_inputs(args.paths)
        if output is not None:
            sink = OutputFile(output, args.format, context, redo=getattr(args, "redo", False))
            sink.read()  # before TensorFlow: another bundle's or model's rows are refused
            files, missing = _skip_done(sink, files, missing, counts)
        predictor = (
            Predictor(bundle, args.model, args.backbone_weights, args.threads) if files else None
        )
    except (BundleError, OutputMismatch) as exc:
        print(f"moviegenre predict: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if context.get("fallback"):
        log.warning("%s", context["fallback"])
    for r in missing:
        log.warning("%s: %s: %s", r.path, r.reason, r.detail)
    if counts.skipped:
        log.info(
            "skipped %d files already in %s (--redo predicts them again)", counts.skipped, output
        )
    results: list[TrailerResult] = []  # only without --output: the document printed at the end

    def keep(r: TrailerResult) -> None:
        counts.add(r.ok, r.audio_missing)
        if sink is not None:
            sink.add(r)
        else:
            results.append(r)

    if sink is not None:
        sink.open()
    if predictor is not None:
        log.info(
            "loaded %s (model %s, backbone %s) in %.1f s; %d files to predict",
            bundle.directory,
            predictor.model,
            bundle.manifest["backbone"]["name"],
            time.monotonic() - started,
            len(files),
        )
        predict_started = time.monotonic()
        first_done = predict_started
        predicted = 0
        for done, r in enumerate(predictor.predict_each(files), 1):
            keep(r)
            predicted += r.ok
            if done == 1:
                first_done = time.monotonic()
            _progress(done, len(files), r, context, first_done)
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
    for r in missing:
        keep(r)
    if sink is not None:
        sink.close(counts.summary())
        log.info("wrote %s", output)
        return counts.exit_code()
    text = RENDERERS[args.format](results, context)
    sys.stdout.write(text)
    sys.stdout.flush()
    return exit_code(results)


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
        fallback = _fallback_text(r, context)
        log.warning("%s: audio missing (%s): %s", where, r.audio_reason, fallback)
    elif done >= 2:
        left = (time.monotonic() - first_done) / (done - 1) * (total - done)
        log.info("%s: %.1f s, about %.0f s left", where, r.seconds, left)
    else:
        log.info("%s: %.1f s", where, r.seconds)
