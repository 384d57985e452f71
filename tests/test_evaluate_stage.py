"""The evaluate stage itself, on a crafted table: thresholds from non-test rows, metrics on test.

Test rows follow a different rule from the other splits (scores shifted down, positives rarer),
so a Youden threshold chosen on them differs from the one chosen on the non-test rows: a stage
that reads test rows for its thresholds writes other numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviegenre.config import load_params
from moviegenre.evaluation.metrics import evaluate_scores
from moviegenre.evaluation.thresholds import youden_thresholds
from moviegenre.genres import GENRES_9
from moviegenre.paths import predictions_path
from moviegenre.pipeline import evaluate
from moviegenre.predictions import write_predictions
from moviegenre.registry import EVALUATED_MODELS

REPO = Path(__file__).resolve().parents[1]
N_TRAIN, N_VALID, N_TEST = 24, 16, 20


def _write_tables(root: Path) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A data set and one score table per evaluated model; returns labels, splits, scores."""
    rng = np.random.default_rng(7)
    n = N_TRAIN + N_VALID + N_TEST
    splits = np.array(["train"] * N_TRAIN + ["valid"] * N_VALID + ["test"] * N_TEST)
    labels = (rng.random((n, 9)) < 0.4).astype(np.uint8)
    labels[:2, :] = [[1], [0]]  # every genre has both classes in every split
    labels[N_TRAIN : N_TRAIN + 2, :] = [[1], [0]]
    labels[-2:, :] = [[1], [0]]
    index = pd.DataFrame({"trailer_id": [f"{i:06d}" for i in range(n)], "split": splits})
    index["n_frames"] = 2
    index["has_audio"] = True
    index["silent"] = False
    for g, genre in enumerate(GENRES_9):
        index[genre] = labels[:, g]
    out = root / "results/dataset"
    out.mkdir(parents=True)
    index.to_parquet(out / "index.parquet", index=False)
    np.save(out / "audio.npy", np.zeros((n, 140), dtype=np.float32))
    np.save(out / "visual.npy", np.zeros((n, 2, 3), dtype=np.float16))
    (out / "report.json").write_text(json.dumps({"genres": list(GENRES_9)}))
    scores = {}
    test = splits == "test"
    for model in list(EVALUATED_MODELS):
        s = np.clip(0.35 * labels + 0.65 * rng.random((n, 9)), 0, 1)
        s[test] = s[test] * 0.5  # test follows another rule: its Youden points sit lower
        s = s.astype(np.float32)
        write_predictions(predictions_path(model), index["trailer_id"], splits, s, GENRES_9)
        scores[model] = s
    return labels, splits, scores


@pytest.mark.parametrize("threshold_split", ["oof", "valid"])
def test_evaluate_stage_fits_thresholds_off_test_and_scores_test(
    tmp_path, monkeypatch, threshold_split
) -> None:
    monkeypatch.chdir(tmp_path)
    labels, splits, scores = _write_tables(tmp_path)
    config = load_params(REPO / "params.yaml")
    config["evaluate"]["threshold_split"] = threshold_split
    metrics = evaluate.run(config)

    pick = np.isin(splits, ("train", "valid") if threshold_split == "oof" else ("valid",))
    test = splits == "test"
    saved = json.loads(Path("results/thresholds.json").read_text())
    assert saved["split"] == threshold_split
    assert list(saved["models"]) == list(EVALUATED_MODELS)
    for model, s in scores.items():
        cut = youden_thresholds(labels[pick], s[pick])
        from_test = youden_thresholds(labels[test], s[test])
        assert not np.allclose(cut, from_test)  # the crafted rules tell the two apart
        assert [saved["models"][model][g] for g in GENRES_9] == pytest.approx(cut, abs=1e-6)
        expected = evaluate_scores(labels[test], s[test], cut, list(GENRES_9))
        assert metrics["test"][model] == expected
    assert metrics["n_test"] == N_TEST
    on_disk = json.loads(Path("results/metrics.json").read_text())
    assert on_disk["test"]["cnn1d"]["ap"] == pytest.approx(metrics["test"]["cnn1d"]["ap"])
