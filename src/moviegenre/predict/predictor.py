"""The predictor: a bundle's backbone and one chosen model, scoring trailer after trailer.

Features are computed by the very functions the extraction DAG runs, with the parameters
recorded in the bundle's manifest (not params.yaml), then padded and scored exactly as
training and the fuse stage do; so a trailer the pipeline also scored gets the same
probabilities. The backbone and the models are loaded once per batch; decoding of the
next trailers overlaps the network on the current one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moviegenre.bundle import (
    Bundle,
    BundleError,
    ResolvedModel,
    feature_code,
    weights_kind,
)
from moviegenre.features.cores import available_cores
from moviegenre.fusion.policy import FALLBACK, with_fallback
from moviegenre.predict.result import TrailerResult

log = logging.getLogger("moviegenre.predict")


@dataclass
class TrailerFeatures:
    """What the models read for one trailer, stored as the DAG does (float16, float32).

    ``frames`` holds the decoded frames until Predictor.embed turns them into ``visual``.
    """

    path: Path
    visual: np.ndarray | None = None  # float16 [frames, dim] embeddings; None until embedded
    audio: np.ndarray | None = None  # float32 [140]; None when the sound is missing or unusable
    audio_reason: str = ""  # why audio is None ("no_audio_stream: ...")
    silent: bool = False
    duration_s: float = float("nan")
    audio_flags: str = ""  # late_audio, cut (features.sound.audio_notes)
    frames: np.ndarray | None = None  # uint8 [frames, 224, 224, 3]; None once embedded


class Predictor:
    """A bundle's backbone and one chosen model, loaded once, scoring trailer after trailer.

    ``model`` (a name, or the bundle's ResolvedModel) defaults to the bundle's default (best
    fusion by out-of-fold AU-PRC macro). ``backbone_weights`` replaces the recorded weights
    file when it has moved (it must be the same file: its sha256 is checked).
    ``embed=False`` scores features embedded elsewhere (`moviegenre classify`'s shard jobs):
    no backbone is built.
    """

    def __init__(
        self,
        bundle: Bundle,
        model: str | ResolvedModel | None = None,
        backbone_weights: str | Path | None = None,
        threads: int | None = None,
        embed: bool = True,
    ) -> None:
        self.bundle = bundle
        # BundleError for an unknown name, before anything is loaded
        self.resolved = model if isinstance(model, ResolvedModel) else bundle.resolve(model)
        self.model = self.resolved.name
        self.kind = self.resolved.kind
        self.visual_model = self.resolved.visual_model
        self.genres = bundle.genres
        self.thresholds = self.resolved.thresholds
        manifest = bundle.manifest
        self.frames_cfg = dict(manifest["frames"])
        self.audio_cfg = dict(manifest["audio"])
        self.min_duration_s = float(manifest["extraction"]["min_duration_s"])
        self.max_frames = int(manifest["max_frames"])
        self.n_frames = int(manifest["n_frames"])
        self.batch_size = int(manifest["backbone"]["batch_size"])
        prevalence = manifest["audio_prevalence"]
        self.prevalence = np.array([prevalence[g] for g in self.genres], np.float32)
        # the cores to use: trailers decoded at once and TensorFlow's CPU threads
        self.threads = max(1, int(threads or available_cores()))
        self._resolved: dict[str, ResolvedModel] = {self.model: self.resolved}
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
        self._load(self.resolved)

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
        if override is not None or (kind == "file" and self.needs_visual):
            self.weights_spec = str(self.bundle.checked_weights_file(override))
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

    def _resolve(self, model: str | ResolvedModel | None) -> ResolvedModel:
        """A model of the bundle, resolved once per run (None: the chosen one)."""
        if isinstance(model, ResolvedModel):
            return model
        name = model or self.model
        if name not in self._resolved:
            self._resolved[name] = self.bundle.resolve(name)
        return self._resolved[name]

    def _load(self, model: ResolvedModel) -> None:
        """Load a model (and a fusion's visual model) once; a file that does not load is a
        BundleError in one line naming it, like every other bundle problem (exit 2)."""
        try:
            self._load_unchecked(model)
        except BundleError:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras / skops raise many kinds
            reason = " ".join(str(exc).split())[:300]
            raise BundleError(
                f"{model.files[0].path}: model {model.name} cannot be loaded "
                f"({type(exc).__name__}: {reason})"
            ) from exc

    def _load_unchecked(self, model: ResolvedModel) -> None:
        """Load from private copies checked against the manifest opened at the start
        (Bundle.verified_files): a bundle rebuilt meanwhile is BundleChanged, never mixed."""
        if model.kind == "visual":
            if model.name not in self._keras:
                from moviegenre.models.train import load_model

                # the k fold models of the cross-fitting; their mean is the model's score
                with self.bundle.verified_files(model) as files:
                    self._keras[model.name] = [load_model(f) for f in files]
            return
        if model.name not in self._svms:
            from moviegenre.fusion.svm import load_svms

            with self.bundle.verified_files(model) as (file,):
                self._svms[model.name] = load_svms(file)
        if model.visual is not None:
            self._load(model.visual)

    # -- features --

    def features(self, path: Path) -> TrailerFeatures:
        """Decode one trailer and compute its audio vector; TrailerError if it is unusable.

        Acceptance and decoding are the extraction DAG's own functions (frames are decoded
        even for the audio model: the DAG keeps no trailer without them). Any audio failure
        only marks the sound missing, as in the DAG, where such a trailer stays in the data
        set without audio.
        """
        from moviegenre.features.decode import probe
        from moviegenre.features.sound import audio_notes
        from moviegenre.features.trailer import audio_features_noted, decode_for_embedding, failure

        path = Path(path)
        info = probe(path)  # once, for the frames and the sound
        _, frames, duration = decode_for_embedding(path, self.frames_cfg, self.min_duration_s, info)
        feats = TrailerFeatures(path, frames=frames if self.needs_visual else None)
        feats.duration_s = duration
        if self.needs_audio:
            try:
                vector, silent, _, notes = self._audio_worker.call(
                    path, audio_features_noted, path, self.audio_cfg, self.min_duration_s, info
                )
                feats.audio = np.asarray(vector, dtype=np.float32)
                feats.silent = bool(silent)
                feats.audio_flags = audio_notes(False, notes)[0]
            except Exception as exc:  # noqa: BLE001 - the DAG drops the sound, not the trailer
                feats.audio_reason = ": ".join(failure(exc))
        return feats

    def embed(self, feats: TrailerFeatures) -> TrailerFeatures:
        """Embed the decoded frames with the backbone (float16, as the shards store them):
        ``visual`` gets the features, ``frames`` is emptied."""
        if feats.frames is not None and self.backbone is not None:
            feats.visual = self.backbone.embed(feats.frames, self.batch_size)
            feats.frames = None
        return feats

    # -- scoring --

    def visual_scores(self, model: str | ResolvedModel, visual: np.ndarray) -> np.ndarray:
        """float32 [G]: the mean of a visual model's fold models on one trailer's features."""
        model = self._resolve(model)
        self._load(model)
        x = visual_input(visual, self.max_frames, self.n_frames)
        probs = [
            np.asarray(m.predict_on_batch(x), np.float32).reshape(-1)
            for m in self._keras[model.name]
        ]
        return np.mean(probs, axis=0).astype(np.float32)

    def score(
        self, feats: TrailerFeatures, model: str | ResolvedModel | None = None
    ) -> tuple[np.ndarray, str]:
        """(probabilities float32 [G], fallback used or ''), as the pipeline scores them."""
        model = self._resolve(model)
        self._load(model)
        if model.kind == "visual":
            return self.visual_scores(model, feats.visual), ""
        visual = None
        if model.visual is not None:
            visual = self.visual_scores(model.visual, feats.visual)
        return svm_scores(
            model.kind,
            self._svms[model.name],
            feats.audio,
            visual,
            self.prevalence,
            trained_with_audio=model.trained_with_audio,
        )

    def result(self, feats: TrailerFeatures, display: str, seconds: float) -> TrailerResult:
        """The chosen model's TrailerResult for one trailer's features."""
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
