"""moviegenre.atomic: concurrent writers of one target, and which leftovers are removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import tool_env

from moviegenre.atomic import _host, remove_stale_temporaries, write_text_atomic

WRITES = 300
WRITER = """
import sys
from pathlib import Path
from moviegenre.atomic import write_text_atomic
target, tag = Path(sys.argv[1]), sys.argv[2]
for i in range(int(sys.argv[3])):
    write_text_atomic(target, f"{tag} {i} " + "x" * 4000 + "\\n")
    text = target.read_text()
    assert text.endswith("x\\n") and len(text) > 4000, repr(text[:40])
"""


def test_two_concurrent_writers_of_one_target_never_fail(tmp_path: Path) -> None:
    """Each write cleans leftovers first; it must not take the other live writer's file
    (the old cleanup did: about 3 % of writes failed with FileNotFoundError)."""
    target = tmp_path / "report.csv"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), tag, str(WRITES)],
            env=tool_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("A", "B")
    ]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert target.read_text().split(" ")[0] in {"A", "B"}
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]  # no temporaries left


def test_only_leftovers_of_gone_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "shard-0001.parquet"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        dead_pid = int(dead.stdout)
        names = {
            "dead": f".{target.name}.tmp-{_host()}-{dead_pid}-0123abcd",
            "dead_suffix": f".{target.name}.tmp-{_host()}-{dead_pid}-0123abcd.parquet",
            "legacy": f".{target.name}.tmp-{dead_pid}",
            "live": f".{target.name}.tmp-{_host()}-{sleeper.pid}-0123abcd",
            "mine": f".{target.name}.tmp-{_host()}-{os.getpid()}-0123abcd",
            "other_host": f".{target.name}.tmp-elsewhere.example-{dead_pid}-0123abcd",
            "other_target": f".shard-0002.parquet.tmp-{_host()}-{dead_pid}-0123abcd",
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"partial")
        remove_stale_temporaries(target)
        left = {key for key, name in names.items() if (tmp_path / name).exists()}
        assert left == {"live", "mine", "other_host", "other_target"}
        write_text_atomic(target, "done")
        assert target.read_text() == "done"
    finally:
        sleeper.kill()
        sleeper.wait()
