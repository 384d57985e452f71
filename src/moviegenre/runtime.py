"""TensorFlow process settings: quiet on a CPU, one line naming the GPU, bounded threads.

Importing TensorFlow's pip build on a machine without a GPU writes ~8 lines to stderr
(absl's start-up notice, oneDNN and CPU-instruction notes, "Could not find cuda drivers",
and at the first device query an ``E0000 ... failed call to cuInit: ... CUDA error``).
None of them is about this program, yet they land in every stage log, in `dvc repro`'s
terminal and in `predict`'s stderr. :func:`configure_tensorflow` imports TensorFlow and
queries its devices with the process's stderr file descriptor routed to a temporary
file, then writes back every line that is not one of those notices: real errors and
warnings still show. Where a GPU is used, one log line names it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("moviegenre.runtime")

#: start-up notices of TensorFlow's pip build that say nothing about this program
_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|cpu_feature_guard\.cc"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation_placer\.cc.*already registered"
    r"|TF-TRT Warning: Could not find TensorRT"
)
#: notices that only mean "this machine has no usable CUDA driver": noise without a GPU,
#: kept where an NVIDIA driver is installed (there they report a real problem)
_NO_GPU_NOISE = re.compile(
    r"failed call to cuInit|Could not find cuda drivers|cuda_diagnostics|CUDA error"
)


def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA kernel driver loaded (a GPU TensorFlow could use)."""
    return Path("/proc/driver/nvidia/gpus").is_dir() or any(Path("/dev").glob("nvidia[0-9]*"))


def is_noise(line: str, gpu_machine: bool) -> bool:
    """Whether a stderr line of TensorFlow's start-up is one of its harmless notices."""
    if _STARTUP_NOISE.search(line):
        return True
    return not gpu_machine and bool(_NO_GPU_NOISE.search(line))


@contextlib.contextmanager
def filtered_stderr(gpu_machine: bool) -> Iterator[None]:
    """Route file descriptor 2 to a temporary file; on exit write back the lines that are
    not TensorFlow's start-up notices (C++ writes to the descriptor, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not is_noise(line, gpu_machine)
            ]
            if kept:
                os.write(2, "".join(kept).encode("utf-8"))


def import_tensorflow():  # noqa: ANN201 - the tensorflow module
    """``import tensorflow`` without its start-up notices (see the module docstring).

    The first import in a process decides: call this before anything imports keras or
    tensorflow. A later call returns the module already loaded.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr(nvidia_driver_present()):
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # cuInit happens here: inside the filter
    return tf


def describe_gpus(tf) -> list[str]:  # noqa: ANN001 - the tensorflow module
    """'GPU:0 NVIDIA H100 80GB HBM3 (compute capability 9.0)' for each GPU TensorFlow sees."""
    names = []
    for index, gpu in enumerate(tf.config.list_physical_devices("GPU")):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except (RuntimeError, ValueError):
            details = {}
        name = details.get("device_name", gpu.name)
        capability = details.get("compute_capability")
        suffix = f" (compute capability {capability[0]}.{capability[1]})" if capability else ""
        names.append(f"GPU:{index} {name}{suffix}")
    return names


def configure_tensorflow(threads: int | None = None) -> list[str]:
    """Call before building models: quiet import, ``threads`` CPU threads, GPU memory on demand.

    ``threads`` bounds TensorFlow's CPU thread pools (the cores this job was given; None
    leaves TensorFlow's default, every core). Returns the GPUs TensorFlow uses, described;
    where there are any, one INFO line names them (none on a CPU-only machine).
    """
    tf = import_tensorflow()
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
    gpus = describe_gpus(tf)
    if gpus:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        where = f" (CUDA_VISIBLE_DEVICES={visible})" if visible is not None else ""
        log.info("TensorFlow uses %s%s", ", ".join(gpus), where)
    return gpus
