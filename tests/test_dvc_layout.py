"""dvc.yaml states the same paths and model names as the package: one fact, checked twice.

DVC needs the paths and the model lists written in dvc.yaml; the code reads them from
moviegenre.paths and moviegenre.registry. Stages are read through DVC's own API (foreach
and matrix expanded, params interpolated), so a stage whose outputs drift from what its
code writes fails here, not in a user's `dvc repro`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from helpers import REPO

from moviegenre import paths
from moviegenre.registry import AUDIO_MODEL, EVALUATED_MODELS, VISUAL_MODELS, fused_name


@pytest.fixture(scope="module")
def stages() -> dict[str, set[Path]]:
    """Stage address -> its outputs (relative paths), as `dvc repro` resolves them."""
    from dvc.repo import Repo

    with Repo(os.fspath(REPO)) as repo:
        return {
            stage.addressing: {Path(os.path.relpath(out.fs_path, REPO)) for out in stage.outs}
            for stage in repo.index.stages
        }


def _dvc_yaml() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())


def test_the_model_lists_are_the_registry() -> None:
    dvc = _dvc_yaml()["stages"]
    assert tuple(dvc["train"]["matrix"]["model"]) == VISUAL_MODELS
    assert tuple(dvc["oof"]["foreach"]) == VISUAL_MODELS
    assert tuple(dvc["fuse"]["foreach"]) == VISUAL_MODELS


def test_every_stage_writes_where_paths_py_says(stages: dict[str, set[Path]]) -> None:
    folds = yaml.safe_load((REPO / "params.yaml").read_text())["stacking"]["fold_ids"]
    expected = {
        "synth": {paths.SYNTHETIC_TRAILERS, paths.SYNTHETIC_LABELS_DB},
        "features": {
            paths.FEATURES,
            paths.FEATURE_STORE,
            paths.EXTRACTION_REPORT,
            paths.EXTRACTION_SUMMARY,
        },
        "dataset": {paths.DATASET},
        "folds": {paths.FOLDS_FILE},
        "audio_svm": {paths.svm_path(AUDIO_MODEL), paths.predictions_path(AUDIO_MODEL)},
        "bundle": {paths.BUNDLE},
    }
    for model in VISUAL_MODELS:
        for fold in folds:
            expected[f"train@{model}-{fold}"] = {
                paths.fold_model_path(model, fold),
                paths.fold_predictions_path(model, fold),
                paths.training_log_dir(model, fold),
            }
        expected[f"oof@{model}"] = {paths.predictions_path(model), paths.insample_path(model)}
        fused = fused_name(model)
        expected[f"fuse@{model}"] = {paths.svm_path(fused), paths.predictions_path(fused)}
    for stage, outs in expected.items():
        assert stages.get(stage) == outs, stage
    evaluate = stages["evaluate"]
    files = {
        paths.MODEL_METRICS,
        paths.HEADLINE_METRICS,
        paths.METRICS_DETAIL,
        paths.THRESHOLDS,
        paths.METRICS_TABLE,
    }
    plots = {
        paths.PR_PLOTS,
        paths.AP_PLOTS,
        paths.FAULT_MATRICES,
        paths.PR_CURVES_PNG,
        paths.AP_BARS_PNG,
        paths.LOSS_CURVES_PNG,
    }
    assert evaluate == files | plots
    assert set(stages) == set(expected) | {"evaluate"}


def test_the_plots_name_every_evaluated_model() -> None:
    """Model lists and files inside dvc.yaml's plot definitions follow the registry."""
    definitions = {}
    for definition in _dvc_yaml().get("plots", []):
        ((plot_id, props),) = definition.items()
        definitions[plot_id] = props
    assert definitions[str(paths.PR_PLOTS)]["y"] == list(EVALUATED_MODELS)
    by_files = [props["y"] for props in definitions.values() if isinstance(props.get("y"), dict)]
    ap = {str(paths.ap_plot_path(m)) for m in EVALUATED_MODELS}
    loss = {
        str(paths.training_log_dir(m, 0) / "plots/metrics" / part / "loss.tsv")
        for m in VISUAL_MODELS
        for part in ("train", "eval")
    }
    assert len(by_files) == 2
    assert {frozenset(files) for files in by_files} == {frozenset(ap), frozenset(loss)}
