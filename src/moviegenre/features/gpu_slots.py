"""One GPU per concurrently running GPU job, for local runs: a small pool of lock files.

Snakemake's ``--resources gpu=N`` only counts: it lets N visual jobs run at once but gives
them no device ids (snakemake issue #281), and TensorFlow takes the first visible GPU, so
all N would compute on GPU 0. Each visual job therefore takes the lowest free slot of a
pool of N lock files (``flock``, exclusive, held for the life of the process) and exports
that slot as ``CUDA_VISIBLE_DEVICES`` before TensorFlow starts. The kernel drops a
``flock`` when its process ends, however it ends (exit, exception, SIGKILL), so a killed
job's slot is free at once and no stale lock is ever left. Under Slurm the scheduler has
already chosen the job's GPUs (its ``CUDA_VISIBLE_DEVICES``): that is used as it is.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger("moviegenre.gpu")

#: folder of the lock files (default: one per user under the system's temporary folder,
#: shared by every run of this user on this machine, since they share its GPUs)
LOCK_DIR_ENV = "MOVIEGENRE_GPU_LOCK_DIR"
#: the pool's size: how many GPU jobs may run at once (visual.smk sets it from --resources gpu=N)
SLOTS_ENV = "MOVIEGENRE_GPU_SLOTS"

# Held for the life of the process: the lock lasts as long as its open file.
_held: list[IO[bytes]] = []


@dataclass
class GpuSlot:
    """The device a job uses: a slot of the local pool, or the scheduler's assignment."""

    slot: int | None  # None: the scheduler's assignment, used as it is
    pool: int
    visible_devices: str | None  # CUDA_VISIBLE_DEVICES as the job runs with it
    lock_file: Path | None = None
    _file: IO[bytes] | None = field(default=None, repr=False)

    def describe(self) -> str:
        devices = self.visible_devices if self.visible_devices is not None else "(unset)"
        if self.slot is None:
            return f"GPU: the scheduler's assignment, CUDA_VISIBLE_DEVICES={devices}"
        return f"GPU slot {self.slot} of {self.pool}: CUDA_VISIBLE_DEVICES={devices}"

    def release(self) -> None:
        """Free the slot now (it is freed anyway when the process ends)."""
        if self._file is not None:
            if self._file in _held:
                _held.remove(self._file)
            self._file.close()
            self._file = None


def default_lock_dir() -> Path:
    configured = os.environ.get(LOCK_DIR_ENV)
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp")
    return base / f"moviegenre-gpu-slots-{os.getuid()}"


def scheduler_assigned(env: MutableMapping[str, str]) -> bool:
    """Whether a batch scheduler chose this job's GPUs (Slurm sets CUDA_VISIBLE_DEVICES)."""
    return "SLURM_JOB_ID" in env


def pool_size(env: MutableMapping[str, str]) -> int:
    try:
        return max(1, int(env.get(SLOTS_ENV, "1")))
    except ValueError:
        return 1


def _try_slot(lock_dir: Path, slot: int) -> IO[bytes] | None:
    handle = open(lock_dir / f"slot-{slot}.lock", "a+b")  # noqa: SIM115 - held past return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n".encode())
    handle.flush()
    return handle


def acquire_gpu_slot(
    pool: int | None = None,
    lock_dir: Path | None = None,
    env: MutableMapping[str, str] | None = None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
) -> GpuSlot:
    """Take the lowest free slot of ``pool`` (waiting while all are taken) and export it.

    Sets ``CUDA_VISIBLE_DEVICES`` in ``env`` (default ``os.environ``) to the slot's device:
    the slot's number, or the slot-th entry of a ``CUDA_VISIBLE_DEVICES`` list the user
    gave the whole run. Under Slurm nothing is taken or changed. TimeoutError after
    ``timeout_s`` (default: wait as long as it takes).
    """
    env = os.environ if env is None else env
    if scheduler_assigned(env):
        return GpuSlot(None, 1, env.get("CUDA_VISIBLE_DEVICES"))
    pool = pool_size(env) if pool is None else max(1, int(pool))
    lock_dir = default_lock_dir() if lock_dir is None else Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    given = [d for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    started, waited = time.monotonic(), False
    while True:
        for slot in range(pool):
            handle = _try_slot(lock_dir, slot)
            if handle is not None:
                _held.append(handle)
                device = given[slot % len(given)] if given else str(slot)
                env["CUDA_VISIBLE_DEVICES"] = device
                return GpuSlot(slot, pool, device, lock_dir / f"slot-{slot}.lock", handle)
        if timeout_s is not None and time.monotonic() - started >= timeout_s:
            raise TimeoutError(f"all {pool} GPU slots in {lock_dir} stayed taken")
        if not waited:
            log.info("all %d GPU slots in %s are taken: waiting for one", pool, lock_dir)
            waited = True
        time.sleep(poll_s)
