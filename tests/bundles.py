"""Prediction bundles and trailer archives, shared by the predict, classify and bundle tests.

fake_bundle writes a bundle of placeholder model files: enough for manifest validation,
nothing in it loads. build_bundle bundles real tiny models (write_variant's Keras fold
models and skops SVMs) with the real bundle code, for tests that run `moviegenre predict`
or `moviegenre classify` for real; VARIANT_PARAMS makes a repository copy match them.
write_archive writes a folder of trailers for those commands, odd entries included.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from media import truncate_file, write_test_video, write_text_file

from moviegenre.bundle import FORMAT, FORMAT_VERSION, MANIFEST, sha256_of
from moviegenre.predict import TrailerResult
from moviegenre.registry import EVALUATED_MODELS, VISUAL_MODELS

#: the genres of every bundle written here (fake_bundle's, write_variant's)
BUNDLE_GENRES = ["Action", "Comedy"]


# ---- placeholder bundles and predict results -------------------------------------------------


def fake_bundle(directory: Path) -> Path:
    """A bundle whose model files are placeholders: enough for manifest validation."""
    models = {}
    for name in list(EVALUATED_MODELS):
        kind = "visual" if "_" not in name or name in ("lstm_merge", "gru_merge") else "fusion"
        kind = "audio" if name == "audio" else kind
        inside = f"models/{name}.keras" if kind == "visual" else f"svm/{name}.skops"
        (directory / inside).parent.mkdir(parents=True, exist_ok=True)
        (directory / inside).write_bytes(name.encode())
        models[name] = {"kind": kind, "file": inside, "sha256": sha256_of(directory / inside)}
        if kind == "fusion":
            models[name]["visual_model"] = name.removeprefix("fusion_")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "moviegenre_version": "0.1.0",
        "genres": BUNDLE_GENRES,
        "backbone": {"name": "mobilenetv3small", "weights": "none", "dim": 576, "batch_size": 8},
        "frames": dict(BUNDLE_CONFIG["frames"]),
        "audio": dict(BUNDLE_CONFIG["audio"]),
        "extraction": {"min_duration_s": 6.0},
        "max_frames": 240,
        "n_frames": 116,
        "models": models,
        "thresholds": {
            "split": "valid",
            "models": {m: dict.fromkeys(BUNDLE_GENRES, 0.5) for m in models},
        },
        "metrics": {"valid": {}, "test": {}},
        "default_model": "fusion_gru",
        "audio_prevalence": dict.fromkeys(BUNDLE_GENRES, 0.25),
        "params": {},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest))
    return directory


def model_paths(bundle, model: str) -> list[Path]:
    """A model's files in the bundle: a visual model's fold models, else its one file."""
    return [part.path for part in bundle.resolve(model).files]


#: params.yaml as the bundle code reads it here (fake_bundle records its frames and audio)
BUNDLE_CONFIG = {
    "backbone": {"name": "mobilenetv3small", "weights": "none", "batch_size": 8},
    "frames": {"start_s": 5.0, "end_s": 120.0, "count": 116, "step_ms": "exact"},
    "audio": {
        "sample_rate": 22050,
        "offset_s": 5.0,
        "n_mfcc": 13,
        "lpc_order": 9,
        "pooling": "seed",
        "resampler": "soxr_hq",
    },
    "dataset": {"genres": 9, "max_frames": 240},
    "extraction": {"min_duration_s": 6.0, "shards": 2, "decode_threads": 1},
    "stacking": {"folds": 2},
    "fusion": {"protocol": "oof"},
}


def sample_results() -> tuple[list[TrailerResult], dict]:
    """Three predict results (one with sound, one without, one failed) and their context."""
    context = {
        "bundle": "models/bundle",
        "model": "fusion_gru",
        "default_model": "fusion_gru",
        "visual_model": "gru",
        "valid_auprc_macro": 0.61,
        "threshold_split": "valid",
        "genres": BUNDLE_GENRES,
        "thresholds": {"Action": 0.4, "Comedy": 0.5},
        "backbone": {"name": "mobilenetv3small", "weights": "none"},
    }
    results = [
        TrailerResult("a/1.mp4", True, probabilities=np.array([0.7, 0.2]), predicted=["Action"]),
        TrailerResult(
            "a/2.mp4",
            True,
            probabilities=np.array([0.1, 0.9]),
            predicted=["Comedy"],
            audio_missing=True,
            audio_reason="no_audio_stream: the file has no audio stream",
            fallback="visual_scores",
        ),
        TrailerResult("a/3.mp4", False, "unreadable", "not a media file"),
    ]
    return results, context


# ---- real tiny bundles -----------------------------------------------------------------------

#: write_variant's models: input width (mobilenetv3small's feature size), input length
#: (params.yaml's max_frames, at least 117: docs/method.md) and the frames they are built for
VARIANT_DIM = 576
VARIANT_MAX_FRAMES = 240
VARIANT_N_FRAMES = 4
VARIANT_FRAMES = {"start_s": 1.0, "end_s": 5.0, "count": VARIANT_N_FRAMES, "step_ms": "exact"}
#: params.yaml changes that make a repository copy's bundle stage take write_variant's models
VARIANT_PARAMS = {
    "frames": VARIANT_FRAMES,
    "backbone": {"name": "mobilenetv3small", "weights": "none", "batch_size": 8},
}
#: the model predict runs on those bundles: it reads a visual model's fold files and an SVM file
VARIANT_MODEL = "fusion_cnn1d"


def write_variant(root: Path, variant: int) -> None:
    """What the pipeline leaves for the bundle stage, as real tiny models: variant 0 and 1
    differ in every fold model, every SVM and every threshold."""
    import keras

    from moviegenre.fusion.svm import GenreSVMs, save_svms

    rng = np.random.default_rng(variant)
    for name in VISUAL_MODELS:
        for fold in range(2):
            model = keras.Sequential(
                [
                    keras.Input((VARIANT_MAX_FRAMES, VARIANT_DIM)),
                    keras.layers.GlobalAveragePooling1D(),
                    keras.layers.Dense(len(BUNDLE_GENRES), activation="sigmoid"),
                ]
            )
            kernel = rng.normal(0, 3, (VARIANT_DIM, len(BUNDLE_GENRES))).astype(np.float32)
            model.layers[-1].set_weights([kernel, rng.normal(0, 1, len(BUNDLE_GENRES))])
            target = root / "models" / "folds" / name / f"fold-{fold}.keras"
            target.parent.mkdir(parents=True, exist_ok=True)
            model.save(target)
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 4)
    for name in EVALUATED_MODELS:
        if name in VISUAL_MODELS:
            continue
        width = 140 + (0 if name == "audio" else len(BUNDLE_GENRES))
        svms = GenreSVMs(C_grid=[1.0], gamma_grid=[0.1], cv_folds=2)
        svms.fit(rng.random((len(labels), width)), labels)
        (root / "models" / "svm").mkdir(parents=True, exist_ok=True)
        save_svms(svms, root / "models" / "svm" / f"{name}.skops")
    results = root / "results"
    (results / "dataset").mkdir(parents=True, exist_ok=True)
    cut = {m: dict.fromkeys(BUNDLE_GENRES, 0.3 + 0.4 * variant) for m in EVALUATED_MODELS}
    (results / "thresholds.json").write_text(json.dumps({"split": "oof", "models": cut}))
    scores = {m: {"auprc_micro": 0.5, "auprc_macro": 0.5} for m in EVALUATED_MODELS}
    metrics = {"valid": scores, "oof": scores, "test": scores}
    (results / "metrics_detail.json").write_text(json.dumps(metrics))
    meta = {
        "backbone": "mobilenetv3small",
        "weights": "none",
        "dim": VARIANT_DIM,
        "frames": VARIANT_FRAMES,
    }
    report = {
        "genres": BUNDLE_GENRES,
        "n_frames": VARIANT_N_FRAMES,
        "dim": VARIANT_DIM,
        "visual_metadata": meta,
    }
    (results / "dataset" / "report.json").write_text(json.dumps(report))
    index = pd.DataFrame({"split": ["train", "train", "valid", "test"], "Action": [1, 0, 1, 0]})
    index["Comedy"] = [0, 1, 1, 0]
    index.to_parquet(results / "dataset" / "index.parquet")


def build_bundle(repo: Path, config: dict, variant: int = 0) -> Path:
    """Real tiny fold models and SVMs (write_variant's ``variant``), bundled by the real
    bundle code with ``config`` as params.yaml."""
    from moviegenre.bundle import build

    write_variant(repo, variant)
    here = Path.cwd()
    os.chdir(repo)
    try:
        build(config)
    finally:
        os.chdir(here)
    return repo / "models" / "bundle"


# ---- archives --------------------------------------------------------------------------------

#: write_archive's odd entries: file name -> the reason predict and classify give
BAD_ENTRIES = {
    "zz-truncated.mp4": "unreadable",
    "zz-text.mp4": "unreadable",
    "zz-short.mp4": "too_short",
    "zz-fifo.mp4": "not_a_file",
    "zz-dangling.mp4": "broken_link",
}


def write_archive(folder: Path, distinct: int, copies: int) -> None:
    """``distinct`` trailers (each its own length and frame rate), each under ``copies``
    names, plus the odd entries of BAD_ENTRIES."""
    folder.mkdir(parents=True)
    originals = folder.parent / "originals"
    originals.mkdir()
    for i in range(distinct):
        source = originals / f"o{i}.mp4"
        write_test_video(source, 7.0 + 0.5 * i, fps=6 + i % 3)
        for c in range(copies):
            shutil.copy(source, folder / f"t{c:03d}-{i}.mp4")
    truncate_file(originals / "o0.mp4", folder / "zz-truncated.mp4", 0.3)
    write_text_file(folder / "zz-text.mp4")
    write_test_video(folder / "zz-short.mp4", 4.0)
    os.mkfifo(folder / "zz-fifo.mp4")
    (folder / "zz-dangling.mp4").symlink_to(folder / "gone.mp4")


def read_csv_by_name(path: Path) -> dict[str, dict[str, str]]:
    """The rows of a predict or classify CSV table by file name."""
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    return {Path(r["path"]).name: r for r in rows}
