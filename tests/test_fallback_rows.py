"""Rows that are fallbacks say so: LMTD-9's precomputed features without trailer files.

With no audio no SVM is fitted: the `audio` model gives the class frequencies and each
`fusion_<m>` a copy of `<m>`. Those figures are not results: the table marks them, the
DVC metrics leave them out, the bundle never makes one its default, `predict` says what
the scores are, `summary` says the features were imported, and no trailer file is reported
missing when none were given.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import yaml
from bundles import fake_bundle
from helpers import REPO, write_dataset
from lmtd_fixtures import (
    LMTD_LABELS,
    LMTD_MAX_FRAMES,
    LMTD_N_SHARDS,
    lmtd_features,
    write_lmtd_style_pickle,
)

from moviegenre import cli, paths
from moviegenre.bundle import _default_model, load_bundle
from moviegenre.config import load_params
from moviegenre.genres import GENRES_9
from moviegenre.pipeline import evaluate
from moviegenre.predict import describe, render_table
from moviegenre.predictions import write_predictions
from moviegenre.registry import AUDIO_MODEL, EVALUATED_MODELS, VISUAL_MODELS, fused_name

FALLBACKS = {AUDIO_MODEL, *(fused_name(m) for m in VISUAL_MODELS)}


# cli.main points logging at the captured stderr of a test
pytestmark = pytest.mark.usefixtures("restore_logging")


def _no_audio_tables(root: Path) -> None:
    """A data set without audio and the tables the stages write for it: visual scores, the
    fusions' copies of them, the audio model's training prevalence (every row flagged)."""
    rng = np.random.default_rng(3)
    n, genres = 48, list(GENRES_9)
    splits = np.array(["train"] * 24 + ["valid"] * 8 + ["test"] * 16)
    labels = (rng.random((n, len(genres))) < 0.4).astype(np.uint8)
    labels[[0, 24, 32], :], labels[[1, 25, 33], :] = 1, 0  # both classes in every split
    index = write_dataset(
        root,
        labels,
        splits,
        genres,
        np.zeros((n, 140), np.float32),
        np.zeros((n, 2, 3), np.float16),
        has_audio=False,
    )
    ids, everyone = index["trailer_id"], np.ones(n, dtype=bool)
    prevalence = labels[splits == "train"].mean(axis=0)
    write_predictions(
        paths.predictions_path(AUDIO_MODEL),
        ids,
        splits,
        np.tile(prevalence, (n, 1)),
        genres,
        audio_missing=everyone,
    )
    for model in VISUAL_MODELS:
        scores = np.clip(0.4 * labels + 0.6 * rng.random(labels.shape), 0, 1)
        write_predictions(paths.predictions_path(model), ids, splits, scores, genres)
        write_predictions(
            paths.predictions_path(fused_name(model)),
            ids,
            splits,
            scores,
            genres,
            audio_missing=everyone,
        )


def test_evaluate_marks_fallbacks_in_the_table_and_leaves_them_out_of_dvc_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _no_audio_tables(tmp_path)
    metrics = evaluate.run(load_params(REPO / "params.yaml"))
    assert set(metrics["fallbacks"]) == FALLBACKS
    assert "training prevalence" in metrics["fallbacks"][AUDIO_MODEL]
    assert "copy of cnn1d" in metrics["fallbacks"]["fusion_cnn1d"]
    # DVC metrics: the visual models only, in the per-model files and the headline
    assert sorted(p.stem for p in Path("results/metrics").iterdir()) == sorted(VISUAL_MODELS)
    headline = json.loads(Path("results/auprc_macro.json").read_text())
    assert list(headline) == [evaluate.headline_name(m) for m in VISUAL_MODELS]
    # the table: every fallback row marked, its footnote says what it is
    table = Path("results/metrics_table.txt").read_text()
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    for model in EVALUATED_MODELS:
        marked = rows[model].split()[1] == "*"
        assert marked == (model in FALLBACKS), table
    for model in FALLBACKS:
        assert f"* {model}: fallback: " in table
    # thresholds stay for every model: predict can still run a fallback and say so
    assert set(json.loads(Path("results/thresholds.json").read_text())["models"]) == set(
        EVALUATED_MODELS
    )


def test_evaluate_marks_nothing_when_the_svms_were_fitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _no_audio_tables(tmp_path)
    # one trailer with audio in the audio and fusion tables: those SVMs were fitted
    for model in FALLBACKS:
        path = paths.predictions_path(model)
        import pandas as pd

        frame = pd.read_parquet(path)
        frame.loc[0, "audio_missing"] = False
        frame.to_parquet(path, index=False)
    metrics = evaluate.run(load_params(REPO / "params.yaml"))
    assert metrics["fallbacks"] == {}
    assert len(list(Path("results/metrics").iterdir())) == len(EVALUATED_MODELS)
    assert "*" not in Path("results/metrics_table.txt").read_text()


def test_the_default_model_is_never_a_fallback() -> None:
    oof = {m: {"auprc_macro": 0.5, "auprc_micro": 0.5} for m in EVALUATED_MODELS}
    oof["fusion_gru"]["auprc_macro"] = 0.9  # best, but a copy of gru
    oof["gru_merge"]["auprc_macro"] = 0.7
    assert _default_model(oof) == "fusion_gru"
    assert _default_model(oof, frozenset({"fusion_gru"})) == "fusion_cnn1d"
    assert _default_model(oof, frozenset(FALLBACKS)) == "gru_merge"  # the best visual model


def test_predict_names_a_fallback_and_the_figure_under_each_protocol(tmp_path: Path) -> None:
    bundle_dir = fake_bundle(tmp_path / "bundle")
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["metrics"]["oof"] = {m: {"auprc_macro": 0.9} for m in manifest["models"]}
    manifest["fusion_protocol"] = "seed"  # a bundle built before the rename: read as original
    for model in FALLBACKS - {"fusion_gru"}:
        manifest["models"][model]["trained_with_audio"] = False
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    bundle = load_bundle(bundle_dir, verify_hashes=False)

    fused = render_table([], describe(bundle, "fusion_gru"))
    assert fused.startswith(
        "model fusion_gru (default, in-sample (fusion.protocol original) AU-PRC"
    )
    assert describe(bundle, "fusion_gru")["fusion_protocol"] == "original"
    assert "out-of-fold" not in fused
    visual = render_table([], describe(bundle, "gru"))
    assert "out-of-fold AU-PRC macro 0.900" in visual  # cross-fitted under every protocol

    audio = describe(bundle, AUDIO_MODEL)
    assert "training prevalence" in audio["fallback"]
    assert "note: audio is a fallback" in render_table([], audio)
    copy = describe(bundle, "fusion_cnn1d")
    assert copy["fallback"].endswith("its scores are cnn1d's")
    assert describe(bundle, "fusion_gru")["fallback"] is None

    manifest["fusion_protocol"] = "oof"
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    honest = render_table([], describe(load_bundle(bundle_dir, verify_hashes=False), "fusion_gru"))
    assert "out-of-fold AU-PRC macro 0.900" in honest


def test_summary_says_the_features_were_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["source"] = "lmtd9"
    params["data"]["lmtd"]["features_pickle"] = "data/lmtd9/lmtd9_resnet152.pickle"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    paths.EXTRACTION_SUMMARY.parent.mkdir(parents=True)
    paths.EXTRACTION_SUMMARY.write_text(json.dumps({"n_trailers": 0, "text": "0 trailers"}))
    assert cli.main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "imported from LMTD-9's ResNet-152 pickle" in out
    assert "0 trailers" not in out
    assert "trailer files: none" in out

    params["data"]["source"] = "synthetic"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    assert cli.main(["summary"]) == 0
    assert "extraction: 0 trailers" in capsys.readouterr().out


def test_no_trailer_file_is_missing_when_none_were_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """LMTD-9's pickle imported alone: labels without features are reported, but no
    'labelled without trailer file' (no trailer files were given at all)."""
    from moviegenre.data.label_writer import write_lmtd_db
    from moviegenre.data.lmtd import import_lmtd, lmtd_params
    from moviegenre.dataset import build_dataset
    from moviegenre.features.report import REPORT_COLUMNS

    monkeypatch.chdir(tmp_path)
    ids = list(LMTD_LABELS)
    labels = np.array([[g in LMTD_LABELS[i][1] for g in GENRES_9] for i in ids], dtype=np.int64)
    write_lmtd_db(Path("database.db"), ids, [LMTD_LABELS[i][0] for i in ids], labels)
    write_lmtd_style_pickle(Path("features.pickle"), lmtd_features())
    import_lmtd(
        Path("database.db"),
        Path("features.pickle"),
        None,
        LMTD_N_SHARDS,
        Path("."),
        LMTD_MAX_FRAMES,
    )
    config = load_params(REPO / "params.yaml")
    config["data"].update(lmtd_params(Path("database.db"), Path("features.pickle"), None))
    config["extraction"]["shards"] = LMTD_N_SHARDS
    paths.EXTRACTION_REPORT.write_text(",".join(REPORT_COLUMNS) + "\n")  # no trailers
    with caplog.at_level(logging.WARNING):
        report = build_dataset(config, Path("dataset"))
    assert report["problems"]["labelled_without_visual_features"]  # still reported
    assert report["problems"]["labelled_without_trailer_file"] == []
    assert "labelled without trailer file" not in caplog.text
