"""GPU slots (features/gpu_slots.py): one device per running GPU job, freed when it dies.

Real processes hold real flock locks: two holders get different slots, a third waits
while both are held, and SIGKILL of a holder frees its slot for the waiter. Under Slurm
the scheduler's CUDA_VISIBLE_DEVICES is left as it is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from moviegenre.features.gpu_slots import SLOTS_ENV, acquire_gpu_slot

HOLDER = """
import sys, time
from moviegenre.features.gpu_slots import acquire_gpu_slot
slot = acquire_gpu_slot(pool=int(sys.argv[2]), lock_dir=sys.argv[1], env={})
print(slot.slot, slot.visible_devices, flush=True)
time.sleep(600)
"""


def _holder(lock_dir: Path, pool: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), str(pool)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().split()
    assert line, "the holder printed no slot"
    assert line[1] == line[0]  # CUDA_VISIBLE_DEVICES is the slot's number
    return proc, int(line[0])


def test_two_holders_two_slots_a_third_waits_and_a_killed_slot_is_freed(tmp_path: Path):
    first, slot_a = _holder(tmp_path, 2)
    second, slot_b = _holder(tmp_path, 2)
    try:
        assert {slot_a, slot_b} == {0, 1}
        with pytest.raises(TimeoutError):  # both taken: a third waits
            acquire_gpu_slot(pool=2, lock_dir=tmp_path, env={}, poll_s=0.05, timeout_s=0.3)
        os.kill(first.pid, signal.SIGKILL)  # no clean-up runs: the kernel drops the lock
        first.wait(timeout=30)
        env: dict[str, str] = {}
        third = acquire_gpu_slot(pool=2, lock_dir=tmp_path, env=env, timeout_s=30)
        assert third.slot == slot_a and env["CUDA_VISIBLE_DEVICES"] == str(slot_a)
        third.release()
        again = acquire_gpu_slot(pool=2, lock_dir=tmp_path, env={}, timeout_s=0)
        assert again.slot == slot_a  # released: free again
        again.release()
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_device_list_given_to_the_run_is_split_by_slot(tmp_path: Path):
    env = {"CUDA_VISIBLE_DEVICES": "2,5", SLOTS_ENV: "2"}
    a = acquire_gpu_slot(lock_dir=tmp_path, env=env)
    env_b = {"CUDA_VISIBLE_DEVICES": "2,5", SLOTS_ENV: "2"}
    b = acquire_gpu_slot(lock_dir=tmp_path, env=env_b)
    assert (a.slot, a.pool, env["CUDA_VISIBLE_DEVICES"]) == (0, 2, "2")
    assert (b.slot, env_b["CUDA_VISIBLE_DEVICES"]) == (1, "5")
    assert "GPU slot 1 of 2: CUDA_VISIBLE_DEVICES=5" in b.describe()
    a.release()
    b.release()


def test_slurm_assignment_is_used_as_it_is(tmp_path: Path):
    env = {"SLURM_JOB_ID": "42", "CUDA_VISIBLE_DEVICES": "3", SLOTS_ENV: "4"}
    slot = acquire_gpu_slot(lock_dir=tmp_path / "locks", env=env)
    assert slot.slot is None and env["CUDA_VISIBLE_DEVICES"] == "3"
    assert not (tmp_path / "locks").exists()  # no pool taken
    assert "scheduler's assignment, CUDA_VISIBLE_DEVICES=3" in slot.describe()
