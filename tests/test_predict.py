"""`moviegenre predict` and the prediction bundle.

The fast tests check manifest validation, input collection and the output formats on
hand-made bundles. The slow ones use the trained tiny pipeline (read-only): a trailer the
evaluation stage scored must get the same probabilities from `predict`, bad files must be
reported one by one, and the CLI runs as a real subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from bundles import BUNDLE_CONFIG, BUNDLE_GENRES, fake_bundle, model_paths, sample_results
from helpers import BIN, run
from media import write_test_video, write_text_file

from moviegenre import cli
from moviegenre.bundle import (
    FORMAT_VERSION,
    MANIFEST,
    BundleError,
    load_bundle,
    sha256_of,
)
from moviegenre.data.trailers import collect_inputs
from moviegenre.predict import (
    CSV_FIXED,
    EXIT_AUDIO_MISSING,
    EXIT_FAILED,
    EXIT_OK,
    exit_code,
    render_csv,
    render_json,
    render_table,
)
from moviegenre.registry import EVALUATED_MODELS, FUSED_MODELS, VISUAL_MODELS

TOL = 1e-4


# cli.main points logging at the captured stderr of a test
pytestmark = pytest.mark.usefixtures("restore_logging")


# ---- fast: hand-made bundles and outputs ---------------------------------------------------


def edit_manifest(directory: Path, change) -> None:
    manifest = json.loads((directory / MANIFEST).read_text())
    change(manifest)
    (directory / MANIFEST).write_text(json.dumps(manifest))


def test_fake_bundle_loads(tmp_path: Path) -> None:
    bundle = load_bundle(fake_bundle(tmp_path))
    assert bundle.default_model == "fusion_gru"
    assert bundle.models == list(EVALUATED_MODELS)
    assert bundle.thresholds("cnn1d").tolist() == [0.5, 0.5]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("backbone"), "missing key 'backbone'"),
        (lambda m: m["frames"].pop("count"), "'frames' lacks count"),
        (lambda m: m["thresholds"]["models"]["gru"].pop("Comedy"), "thresholds.models.gru"),
        (lambda m: m.update(default_model="fusion_nope"), "fusion_nope"),
        (lambda m: m.update(format_version=FORMAT_VERSION + 1), "newer"),
        (lambda m: m.update(max_frames="240"), "'max_frames' should be int"),
    ],
)
def test_manifest_problems_are_named(tmp_path: Path, change, message: str) -> None:
    edit_manifest(fake_bundle(tmp_path), change)
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path)


def test_missing_or_changed_model_file_is_named(tmp_path: Path) -> None:
    fake_bundle(tmp_path)
    (tmp_path / "svm" / "fusion_gru.skops").unlink()
    with pytest.raises(BundleError, match=r"missing file svm/fusion_gru\.skops"):
        load_bundle(tmp_path)
    (tmp_path / "svm" / "fusion_gru.skops").write_bytes(b"something else")
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(tmp_path)


def test_no_bundle_or_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no bundle at"):
        load_bundle(tmp_path / "absent")
    with pytest.raises(BundleError, match="missing file manifest.json"):
        load_bundle(tmp_path)


def test_missing_weights_file_warns_at_load(tmp_path: Path, caplog) -> None:
    fake_bundle(tmp_path)
    gone = str(tmp_path / "gone.weights.h5")

    def use_file(m: dict) -> None:
        m["backbone"].update(weights=gone, weights_path=gone)

    edit_manifest(tmp_path, use_file)
    with caplog.at_level("WARNING", logger="moviegenre.bundle"):
        bundle = load_bundle(tmp_path)
    assert bundle.weights_file() == Path(gone)
    assert "gone.weights.h5 is missing" in caplog.text


def test_missing_weights_file_stops_predict(tmp_path: Path, capsys) -> None:
    bundle_dir = fake_bundle(tmp_path / "bundle")
    gone = str(tmp_path / "gone.weights.h5")
    edit_manifest(bundle_dir, lambda m: m["backbone"].update(weights=gone, weights_path=gone))
    video = write_text_file(tmp_path / "clip.mp4")
    code = cli.main(["predict", "--bundle", str(bundle_dir), str(video)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"weights file recorded in the bundle is missing: {gone}" in err
    assert "--backbone-weights" in err
    # a replacement must be the same file as the one the models were trained with
    edit_manifest(bundle_dir, lambda m: m["backbone"].update(weights_sha256="0" * 64))
    other = write_text_file(tmp_path / "other.h5", "other weights")
    argv = ["predict", "--bundle", str(bundle_dir), "--backbone-weights", str(other), str(video)]
    assert cli.main(argv) == 2
    assert "is not the weights file the models were trained with" in capsys.readouterr().err


def test_unknown_model_fails_before_loading(tmp_path: Path, capsys) -> None:
    fake_bundle(tmp_path)
    code = cli.main(["predict", "--bundle", str(tmp_path), "--model", "nope", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown model 'nope'" in err
    assert "fusion_gru_merge" in err  # the choices are listed


def test_collect_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("b.mp4", "a.MKV", ".hidden.mp4", "notes.txt"):
        (folder / name).write_bytes(b"x")
    (tmp_path / "empty_folder").mkdir()
    explicit = write_text_file(tmp_path / "clip.bin")
    files, errors = collect_inputs(
        [folder, explicit, folder / "b.mp4", tmp_path / "missing.mp4", tmp_path / "empty_folder"]
    )
    assert [p.name for p in files] == ["a.MKV", "b.mp4", "clip.bin"]
    assert {(Path(e.path).name, e.reason) for e in errors} == {
        ("missing.mp4", "not_found"),
        ("empty_folder", "no_videos"),
    }


def fake_results(root: Path, config: dict = BUNDLE_CONFIG) -> None:
    """What the pipeline leaves for the bundle stage: placeholder visual model files, real
    SVM files (tiny fitted fusions; an audio model left unfitted as without any audio)."""
    from moviegenre.fusion.policy import mark_unfitted
    from moviegenre.fusion.svm import GenreSVMs, save_svms

    (root / "models" / "svm").mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.array([[1, 0], [0, 1]] * 4)
    fitted = GenreSVMs(C_grid=[1.0], gamma_grid=[0.1], cv_folds=2)
    fitted.fit(labels + 0.1 * rng.random((8, 2)), labels)
    unfitted = mark_unfitted(GenreSVMs(), 0, "train+valid")
    (root / "results" / "dataset").mkdir(parents=True)
    for name in list(EVALUATED_MODELS):
        if name in ("cnn1d", "lstm_merge", "gru", "gru_merge"):  # the fold models
            (root / "models" / "folds" / name).mkdir(parents=True)
            for fold in range(BUNDLE_CONFIG["stacking"]["folds"]):
                target = root / "models" / "folds" / name / f"fold-{fold}.keras"
                target.write_bytes(f"{name} fold {fold} v1".encode())
        else:
            svms = unfitted if name == "audio" else fitted
            save_svms(svms, root / "models" / "svm" / f"{name}.skops")
    cut = {m: dict.fromkeys(BUNDLE_GENRES, 0.5) for m in list(EVALUATED_MODELS)}
    (root / "results" / "thresholds.json").write_text(json.dumps({"split": "oof", "models": cut}))
    valid = {m: {"auprc_micro": 0.5, "auprc_macro": 0.5} for m in list(EVALUATED_MODELS)}
    oof = json.loads(json.dumps(valid))
    test = json.loads(json.dumps(valid))
    valid["fusion_gru"]["auprc_macro"] = 0.8  # validation alone: not the rule
    oof["fusion_lstm_merge"]["auprc_macro"] = 0.7  # the best out-of-fold fusion
    oof["gru"]["auprc_macro"] = 0.9  # not a fusion: never the default
    test["fusion_cnn1d"]["auprc_macro"] = 0.95  # never chosen on test
    metrics = {"valid": valid, "oof": oof, "test": test}
    (root / "results" / "metrics_detail.json").write_text(json.dumps(metrics))
    meta = {
        "backbone": config["backbone"]["name"],
        "weights": str(config["backbone"]["weights"]),
        "dim": 576,
        "input_size": [224, 224],
        "frames": config["frames"],
    }
    report = {"genres": BUNDLE_GENRES, "n_frames": 116, "dim": 576, "visual_metadata": meta}
    (root / "results" / "dataset" / "report.json").write_text(json.dumps(report))
    index = pd.DataFrame(
        {"split": ["train", "train", "train", "train", "test"], "Action": [1, 0, 0, 0, 1]}
    )
    index["Comedy"] = [1, 1, 0, 1, 0]
    index.to_parquet(root / "results" / "dataset" / "index.parquet")


def test_build_records_and_replaces_atomically(tmp_path: Path, monkeypatch) -> None:
    from moviegenre.bundle import build

    monkeypatch.chdir(tmp_path)
    fake_results(tmp_path)
    out = build(BUNDLE_CONFIG)
    bundle = load_bundle(out)
    assert out == Path("models/bundle")
    assert bundle.default_model == "fusion_lstm_merge"
    assert bundle.manifest["audio_prevalence"] == {"Action": 0.25, "Comedy": 0.75}
    assert bundle.manifest["params"]["extraction"] == {"min_duration_s": 6.0}
    assert bundle.manifest["fusion_protocol"] == "oof"  # what predict names the figure by
    assert set(bundle.manifest["feature_code"]) == {"visual", "audio"}
    source = Path("models/svm/fusion_gru.skops").read_bytes()
    assert model_paths(bundle, "fusion_gru")[0].read_bytes() == source
    # whether SVMs learnt from audio is read from the saved SVMs (no predictions here)
    assert not Path("results/predictions").exists()
    with_audio = {m: e.get("trained_with_audio") for m, e in bundle.manifest["models"].items()}
    assert with_audio == {m: None for m in VISUAL_MODELS} | {"audio": False} | {
        m: True for m in FUSED_MODELS
    }
    assert bundle.model_entry("audio")["without_audio"] == "train_prevalence"
    assert bundle.model_entry("fusion_gru")["without_audio"] == "visual_scores"
    assert [f.read_bytes() for f in model_paths(bundle, "cnn1d")] == [
        b"cnn1d fold 0 v1",
        b"cnn1d fold 1 v1",
    ]

    # a failed rebuild leaves the previous bundle whole, and no temporary folder
    Path("models/svm/audio.skops").unlink()
    Path("models/folds/cnn1d/fold-1.keras").write_bytes(b"cnn1d fold 1 v2")
    with pytest.raises(BundleError, match=r"models/svm/audio\.skops is missing"):
        build(BUNDLE_CONFIG)
    assert model_paths(load_bundle(out), "cnn1d")[1].read_bytes() == b"cnn1d fold 1 v1"
    assert sorted(p.name for p in Path("models").iterdir()) == ["bundle", "folds", "svm"]

    # every fold file is checked against the manifest
    Path("models/bundle/models/cnn1d/fold-1.keras").write_bytes(b"changed")
    with pytest.raises(BundleError, match=r"fold-1\.keras: content differs"):
        load_bundle(out)


def test_build_refuses_stale_features(tmp_path: Path, monkeypatch) -> None:
    from moviegenre.bundle import build

    monkeypatch.chdir(tmp_path)
    fake_results(tmp_path)
    config = json.loads(json.dumps(BUNDLE_CONFIG))
    config["backbone"]["name"] = "resnet50"
    with pytest.raises(BundleError, match="rerun `dvc repro`"):
        build(config)


def test_build_records_a_local_weights_file(tmp_path: Path, monkeypatch) -> None:
    from moviegenre.bundle import build

    monkeypatch.chdir(tmp_path)
    config = json.loads(json.dumps(BUNDLE_CONFIG))
    config["backbone"]["weights"] = "weights/mine.h5"
    fake_results(tmp_path, config)
    Path("weights").mkdir()
    Path("weights/mine.h5").write_bytes(b"weights")
    backbone = load_bundle(build(config)).manifest["backbone"]
    assert backbone["weights"] == "weights/mine.h5"
    assert backbone["weights_path"] == str((tmp_path / "weights" / "mine.h5").resolve())
    assert backbone["weights_sha256"] == sha256_of(Path("weights/mine.h5"))


def test_every_output_format_shows_genres_fallbacks_and_failure_reasons() -> None:
    """Table, JSON and CSV each carry, per trailer, its genres, the fallback that stood in
    for missing sound and the reason a file failed; JSON's summary counts them; CSV keeps
    its fixed columns before the genres and leaves a failed file's probabilities empty."""
    results, context = sample_results()
    table = render_table(results, context)
    assert "a/1.mp4\n  genres: Action" in table
    assert "fusion_gru used gru's visual scores" in table
    assert "a/3.mp4: unreadable: not a media file" in table
    payload = json.loads(render_json(results, context))
    assert [t["status"] for t in payload["trailers"]] == ["ok", "ok", "error"]
    assert payload["trailers"][1]["fallback"] == "visual_scores"
    assert payload["summary"] == {"files": 3, "predicted": 2, "failed": 1, "audio_missing": 1}
    rows = list(csv.DictReader(io.StringIO(render_csv(results, context))))
    assert list(rows[0]) == [*CSV_FIXED, *BUNDLE_GENRES]
    assert float(rows[1]["Comedy"]) == pytest.approx(0.9)
    assert rows[2]["Action"] == "" and rows[2]["reason"] == "unreadable"


def test_exit_status_is_the_worst_outcome_of_the_batch() -> None:
    """A script can act on the status alone: any failed file, or no file at all, is
    EXIT_FAILED; otherwise a trailer scored without its sound is EXIT_AUDIO_MISSING;
    only a batch where every trailer had sound and succeeded is EXIT_OK."""
    results, _ = sample_results()
    assert exit_code(results) == EXIT_FAILED
    assert exit_code(results[:2]) == EXIT_AUDIO_MISSING
    assert exit_code(results[:1]) == EXIT_OK
    assert exit_code([]) == EXIT_FAILED


# ---- slow: the trained tiny pipeline ---------------------------------------------------------


def pipeline_scores(repo: Path, model: str) -> pd.DataFrame:
    return pd.read_parquet(repo / "results" / "predictions" / f"{model}.parquet").set_index(
        "trailer_id"
    )


def held_out_trailers(repo: Path, n: int) -> list[str]:
    """Test-split trailers with sound: no model fitted on them, so the pipeline's scores are
    plain predictions (fit rows of the SVMs carry out-of-fold scores instead)."""
    rows = pipeline_scores(repo, "audio")
    chosen = rows[(rows["split"] == "test") & ~rows["audio_missing"]].index[:n].tolist()
    assert len(chosen) == n
    return chosen


def video_of(repo: Path, trailer_id: str) -> Path:
    return repo / "data" / "synthetic" / "trailers" / f"{trailer_id}.mp4"


@pytest.mark.slow
def test_bundle_records_the_pipeline(trained_repo: Path) -> None:
    bundle = load_bundle(trained_repo / "models" / "bundle")
    manifest = bundle.manifest
    report = json.loads((trained_repo / "results" / "dataset" / "report.json").read_text())
    thresholds = json.loads((trained_repo / "results" / "thresholds.json").read_text())
    metrics = json.loads((trained_repo / "results" / "metrics_detail.json").read_text())
    params = yaml.safe_load((trained_repo / "params.yaml").read_text())
    assert manifest["genres"] == report["genres"]
    assert manifest["n_frames"] == report["n_frames"]
    assert manifest["max_frames"] == params["dataset"]["max_frames"]
    assert manifest["backbone"]["name"] == params["backbone"]["name"]
    assert manifest["backbone"]["weights"] == str(params["backbone"]["weights"])
    assert manifest["backbone"]["dim"] == report["dim"]
    assert manifest["frames"] == params["frames"]
    assert manifest["audio"] == params["audio"]
    assert manifest["thresholds"] == thresholds
    assert set(bundle.models) == set(thresholds["models"])
    fusions = [m for m in bundle.models if m.startswith("fusion_")]
    best = max(metrics["oof"][m]["auprc_macro"] for m in fusions)
    assert bundle.default_model in fusions
    assert metrics["oof"][bundle.default_model]["auprc_macro"] == best  # never test
    assert thresholds["split"] == "oof"
    # self-contained: the model files are copies of the pipeline's (every fold model)
    models = trained_repo / "models"
    folds = params["stacking"]["folds"]
    sources = [models / "folds" / "cnn1d" / f"fold-{i}.keras" for i in range(folds)]
    assert [f.read_bytes() for f in model_paths(bundle, "cnn1d")] == [
        f.read_bytes() for f in sources
    ]
    fusion = model_paths(bundle, "fusion_gru")[0].read_bytes()
    assert fusion == (models / "svm" / "fusion_gru.skops").read_bytes()
    index = pd.read_parquet(trained_repo / "results" / "dataset" / "index.parquet")
    train_rate = index[index["split"] == "train"][bundle.genres].mean()
    np.testing.assert_allclose(
        [manifest["audio_prevalence"][g] for g in bundle.genres], train_rate, atol=1e-6
    )


@pytest.mark.slow
def test_predictions_match_the_pipeline(trained_repo: Path) -> None:
    """The same probabilities as results/predictions/<model>.parquet, model by model."""
    from moviegenre.predict import Predictor

    bundle = load_bundle(trained_repo / "models" / "bundle")
    predictor = Predictor(bundle)  # the default, a fusion: reads frames and sound
    assert predictor.needs_visual and predictor.needs_audio
    ids = held_out_trailers(trained_repo, 2)
    feats = {t: predictor.embed(predictor.features(video_of(trained_repo, t))) for t in ids}
    models = ["cnn1d", "gru", "audio", "fusion_cnn1d", bundle.default_model]
    for model in dict.fromkeys(models):
        expected = pipeline_scores(trained_repo, model).loc[ids, bundle.genres]
        got = np.stack([predictor.score(feats[t], model)[0] for t in ids])
        np.testing.assert_allclose(got, expected.to_numpy(), atol=TOL, err_msg=model)

    # the frames predict embeds are the extraction's (one per-trailer API), and the input it
    # feeds the visual models is the batch row the oof stage scored for that trailer
    from moviegenre.dataset_files import load_dataset
    from moviegenre.models.batches import FrameBatches
    from moviegenre.predict import visual_input

    data = load_dataset(trained_repo / "results" / "dataset")
    row_of = {t: i for i, t in enumerate(data.index["trailer_id"])}
    for t in ids:
        rows = np.array([row_of[t]])
        fed = FrameBatches(data.visual, rows, predictor.max_frames, 1).gather(rows)
        x = visual_input(feats[t].visual, predictor.max_frames, predictor.n_frames)
        np.testing.assert_allclose(x, fed, rtol=1e-3, atol=1e-3, err_msg=t)

    # without sound: fusion -> its visual model's scores, audio -> training prevalence
    silent = feats[ids[0]]
    silent.audio = None
    visual, _ = predictor.score(silent, "cnn1d")
    fused, fallback = predictor.score(silent, "fusion_cnn1d")
    assert fallback == "visual_scores"
    np.testing.assert_array_equal(fused, visual)
    audio, fallback = predictor.score(silent, "audio")
    assert fallback == "train_prevalence"
    assert audio.tolist() == pytest.approx(
        [bundle.manifest["audio_prevalence"][g] for g in bundle.genres]
    )


@pytest.mark.slow
def test_cli_mixed_folder(trained_repo: Path, tmp_path: Path) -> None:
    """Good files are predicted, each bad one is reported by name and reason, exit 1."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    good = held_out_trailers(trained_repo, 2)
    for trailer_id in good:
        shutil.copy(video_of(trained_repo, trailer_id), folder / f"{trailer_id}.mp4")
    write_text_file(folder / "notes.mp4")
    (folder / "empty.mp4").write_bytes(b"")
    write_test_video(folder / "mute.mp4", 8.0, audio=False)
    write_test_video(folder / "short.mp4", 3.0)
    (folder / "readme.txt").write_text("not a video extension: ignored\n")
    out = tmp_path / "out.json"

    result = run(
        [str(BIN / "moviegenre"), "predict", str(folder), "--format", "json", "--output", str(out)],
        trained_repo,
        check=False,
    )
    assert result.returncode == EXIT_FAILED, result.stderr[-3000:]
    assert result.stdout == ""  # everything went to --output
    payload = json.loads(out.read_text())
    by_name = {Path(t["path"]).name: t for t in payload["trailers"]}
    assert set(by_name) == {*(f"{t}.mp4" for t in good), "notes.mp4", "empty.mp4"} | {
        "mute.mp4",
        "short.mp4",
    }
    expected_reasons = {"notes.mp4": "unreadable", "empty.mp4": "empty_file"}
    expected_reasons["short.mp4"] = "too_short"
    for name, reason in expected_reasons.items():
        assert by_name[name]["status"] == "error"
        assert by_name[name]["reason"] == reason
        assert f"{name}: {reason}" in result.stderr  # reported on stderr as it happens
    # the closing count is of the files predicted, not of the files tried
    predicted = sum(t["status"] == "ok" for t in payload["trailers"])
    assert re.search(rf"predicted {predicted} of \d+ files in .*; \d+ failed", result.stderr)
    mute = by_name["mute.mp4"]
    assert mute["status"] == "ok" and mute["audio_missing"] is True
    assert mute["fallback"] == "visual_scores"
    assert mute["audio_reason"].startswith("no_audio_stream")
    assert "mute.mp4: audio missing (no_audio_stream" in result.stderr
    model = payload["model"]
    assert model == load_bundle(trained_repo / "models" / "bundle").default_model
    expected = pipeline_scores(trained_repo, model).loc[good, payload["genres"]]
    for trailer_id in good:
        record = by_name[f"{trailer_id}.mp4"]
        assert record["status"] == "ok" and record["audio_missing"] is False
        got = [record["probabilities"][g] for g in payload["genres"]]
        np.testing.assert_allclose(got, expected.loc[trailer_id].to_numpy(), atol=TOL)
        above = [
            g for g in payload["genres"] if record["probabilities"][g] >= payload["thresholds"][g]
        ]
        assert record["predicted"] == above


@pytest.mark.slow
def test_cli_model_choice_csv_and_table(
    trained_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--model changes the scores; csv has the documented columns; table is readable.

    The bundle is copied away from the pipeline's outputs and used from another folder:
    it needs nothing else.
    """
    bundle_dir = shutil.copytree(trained_repo / "models" / "bundle", tmp_path / "bundle")
    monkeypatch.chdir(tmp_path)
    (trailer_id,) = held_out_trailers(trained_repo, 1)
    video = video_of(trained_repo, trailer_id)
    out = tmp_path / "out.csv"
    argv = ["predict", "--bundle", str(bundle_dir), "--model", "gru", str(video)]
    assert cli.main([*argv, "--format", "csv", "--output", str(out)]) == EXIT_OK
    rows = list(csv.DictReader(out.open()))
    genres = load_bundle(bundle_dir).genres
    assert list(rows[0]) == [*CSV_FIXED, *genres]
    assert len(rows) == 1 and rows[0]["model"] == "gru" and rows[0]["status"] == "ok"
    got = np.array([float(rows[0][g]) for g in genres])
    gru = pipeline_scores(trained_repo, "gru").loc[trailer_id, genres].to_numpy()
    np.testing.assert_allclose(got, gru, atol=TOL)
    audio = pipeline_scores(trained_repo, "audio").loc[trailer_id, genres].to_numpy()
    assert np.abs(gru - audio).max() > TOL  # a different model gives different scores

    table = tmp_path / "out.txt"
    assert cli.main([*argv[:-2], "audio", str(video), "--output", str(table)]) == EXIT_OK
    text = table.read_text()
    assert text.startswith("model audio (chosen")
    assert f"{video}\n  genres: " in text
    for genre, p in zip(genres, audio, strict=True):
        assert f"  {genre:<9}  {p:11.3f}" in text
