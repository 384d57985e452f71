"""TensorFlow process settings: quiet logs, bounded CPU threads, GPU memory on demand."""

from __future__ import annotations

import os


def configure_tensorflow(threads: int | None = None) -> None:
    """Call before building models: share the CPU fairly with other jobs, grow GPU memory."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(max(1, int(threads) // 2))
        except RuntimeError:  # already initialised in this process
            pass
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass
