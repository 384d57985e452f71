"""The models the pipeline trains, fuses and scores, named once.

dvc.yaml's foreach/matrix lists, the evaluation, the bundle and the CLI all read these
names; tests/test_dvc_layout.py holds dvc.yaml against them. Importable without
TensorFlow or scikit-learn, so the CLI and `predict` stay quick to start.
"""

from __future__ import annotations

#: the four visual models of docs/method.md ("Visual models")
VISUAL_MODELS: tuple[str, ...] = ("cnn1d", "lstm_merge", "gru", "gru_merge")

#: per-genre SVMs on the audio vector alone
AUDIO_MODEL = "audio"

FUSION_PREFIX = "fusion_"


def fused_name(visual_model: str) -> str:
    """The audio + visual SVM model stacked on `visual_model`."""
    return f"{FUSION_PREFIX}{visual_model}"


#: one fusion per visual model
FUSED_MODELS: tuple[str, ...] = tuple(fused_name(m) for m in VISUAL_MODELS)

#: every model evaluated and bundled, in the order tables and plots list them
EVALUATED_MODELS: tuple[str, ...] = (*VISUAL_MODELS, AUDIO_MODEL, *FUSED_MODELS)
