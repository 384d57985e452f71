"""Where every stage reads and writes: one place, shared by Snakemake rules and DVC stages.

dvc.yaml states the same paths for DVC; tests/test_dvc_layout.py holds it against these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# ---- inputs of the built-in demo (stage synth) -------------------------------------------
SYNTHETIC = Path("data/synthetic")
SYNTHETIC_TRAILERS = SYNTHETIC / "trailers"
SYNTHETIC_LABELS_DB = SYNTHETIC / "database.db"

# ---- features (Snakemake) -----------------------------------------------------------------
RESULTS = Path("results")
FEATURES = RESULTS / "features"
AUDIO_FEATURES = FEATURES / "audio"
VISUAL_FEATURES = FEATURES / "visual"
LOGS = RESULTS / "logs"
EXTRACTION_REPORT = RESULTS / "extraction_report.csv"
EXTRACTION_SUMMARY = RESULTS / "extraction_summary.json"
#: when the last extraction run began, so its summary counts only the shards it reran
EXTRACTION_RUN_STARTED = LOGS / "extraction_run_started"
#: the per-trailer feature store (features/store.py): outside every declared Snakemake
#: output, so a rerun job's deleted outputs never take it; a DVC output with persist: true
FEATURE_STORE = RESULTS / "store"

# Features imported from LMTD-9's published ResNet-152 pickle (see `moviegenre import-lmtd`).
LMTD_VISUAL_NAME = "lmtd9_resnet152"

# ---- data set (stage dataset) --------------------------------------------------------------
DATASET = RESULTS / "dataset"
DATASET_VISUAL = "visual.npy"
DATASET_AUDIO = "audio.npy"
DATASET_INDEX = "index.parquet"
DATASET_REPORT = "report.json"

# ---- cross-fitting (stages folds, train, oof) ---------------------------------------------
STACKING = RESULTS / "stacking"
FOLDS_FILE = STACKING / "folds.parquet"
TRAINING_LOGS = RESULTS / "training"
#: a fold model's loss per epoch and best epoch, in its training log folder
TRAINING_HISTORY = "history.json"

# ---- models and predictions (stages train, oof, audio_svm, fuse) --------------------------
MODELS = Path("models")
FOLD_MODELS = MODELS / "folds"
SVMS = MODELS / "svm"
PREDICTIONS = RESULTS / "predictions"

# ---- evaluation and the prediction bundle (stages evaluate, bundle) -----------------------
# DVC metrics: a few scalars per model (a row each in `dvc metrics show`) and the headline
# (test AU-PRC macro per model under short names that fit `dvc exp show` in 120 columns);
# the detail (per genre; valid and out-of-fold scores) is a plain output beside them.
MODEL_METRICS = RESULTS / "metrics"
HEADLINE_METRICS = RESULTS / "auprc_macro.json"
METRICS_DETAIL = RESULTS / "metrics_detail.json"
THRESHOLDS = RESULTS / "thresholds.json"
METRICS_TABLE = RESULTS / "metrics_table.txt"
PLOTS = RESULTS / "plots"
PR_PLOTS = PLOTS / "pr"  # a file per genre of `dataset.genres`: a DVC chart each
AP_PLOTS = PLOTS / "ap"
FAULT_MATRICES = PLOTS / "fault_matrices"
PR_CURVES_PNG = PLOTS / "pr_curves.png"
AP_BARS_PNG = PLOTS / "ap_bars.png"
LOSS_CURVES_PNG = PLOTS / "loss_curves.png"
BUNDLE = MODELS / "bundle"


def visual_features_dir(config: dict[str, Any]) -> Path:
    """The visual shards a run uses: imported LMTD-9 features, or the configured backbone's."""
    data = config["data"]
    if data["source"] == "lmtd9" and (data.get("lmtd") or {}).get("features_pickle"):
        return VISUAL_FEATURES / LMTD_VISUAL_NAME
    return VISUAL_FEATURES / config["backbone"]["name"]


def shard_file(directory: Path, shard: str) -> Path:
    """A feature shard in `directory` (`shard` may be Snakemake's "{shard}" wildcard)."""
    return directory / f"shard-{shard}.parquet"


def shard_files(directory: Path) -> list[Path]:
    """Every feature shard in `directory`, in name order (current or left from earlier runs)."""
    return sorted(Path(directory).glob("shard-*.parquet"))


def shard_name_of(path: Path) -> str:
    """The shard a shard file or its status file belongs to: "0003" for shard-0003.*."""
    name = Path(path).name
    if not name.startswith("shard-"):
        raise ValueError(f"{path}: not a shard file")
    return name.removeprefix("shard-").split(".", 1)[0]


def shard_log(kind: str, shard: str) -> Path:
    """The rule log of one shard job; `kind` is "audio" or "visual/<features name>"."""
    return LOGS / kind / f"shard-{shard}.log"


def audio_shard(shard: str) -> Path:
    return shard_file(AUDIO_FEATURES, shard)


def status_file(features_file: Path) -> Path:
    """The per-trailer status CSV that sits beside a shard."""
    return features_file.with_name(features_file.stem + ".status.csv")


def origins_file(status: Path) -> Path:
    """How the last job got each row of a shard's status file (extracted or reused from the
    feature store), kept in the logs so the shard folders stay the same when nothing changed."""
    status = Path(status)
    try:
        return LOGS / status.relative_to(FEATURES).with_suffix("").with_suffix(".origins.json")
    except ValueError:
        return status.with_suffix("").with_suffix(".origins.json")


def fold_model_path(model: str, fold: int) -> Path:
    """One fold model of a visual model (trained on the other folds)."""
    return FOLD_MODELS / model / f"fold-{fold}.keras"


def fold_predictions_path(model: str, fold: int) -> Path:
    """Probabilities of one fold model for every trailer (held-out, training and test)."""
    return STACKING / model / f"fold-{fold}.parquet"


def insample_path(model: str) -> Path:
    """In-sample visual probabilities (the seed's protocol, for comparison only)."""
    return STACKING / "insample" / f"{model}.parquet"


def training_log_dir(model: str, fold: int) -> Path:
    """dvclive curves and history.json of one fold model."""
    return TRAINING_LOGS / model / f"fold-{fold}"


def predictions_path(model: str) -> Path:
    """The per-trailer probabilities of a model: the hand-off to fusion and evaluation."""
    return PREDICTIONS / f"{model}.parquet"


def svm_path(model: str) -> Path:
    """The per-genre SVMs of the audio model or of one fusion (skops)."""
    return SVMS / f"{model}.skops"


def model_metrics_path(model: str) -> Path:
    """A model's row in `dvc metrics show`."""
    return MODEL_METRICS / f"{model}.json"


def ap_plot_path(model: str) -> Path:
    """A model's average precision per genre on test (DVC plot data)."""
    return AP_PLOTS / f"{model}.json"


def pr_plot_path(genre: str) -> Path:
    """Every model's interpolated PR curve for one genre on test (DVC plot data)."""
    return PR_PLOTS / f"{genre}.json"


def fault_matrix_path(model: str) -> Path:
    """A model's fault matrix on test (PNG)."""
    return FAULT_MATRICES / f"{model}.png"
