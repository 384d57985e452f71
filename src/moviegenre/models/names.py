"""The visual model names, importable without TensorFlow (CLI, evaluation, bundle use them)."""

MODEL_NAMES: tuple[str, ...] = ("cnn1d", "lstm_merge", "gru", "gru_merge")
