"""Python's caches inside a folder dependency leave `dvc status` clean (.dvcignore).

Importing the package writes `__pycache__/*.pyc` inside src/moviegenre/...; without the
ignore rules those files change the folder's hash and DVC wants to rerun every stage that
lists it. Real `dvc` on a tiny project with the repository's own .dvcignore.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import REPO, run


def _status(project: Path) -> dict:
    return json.loads(run(["dvc", "status", "--json"], project).stdout or "{}")


def test_caches_in_a_dependency_folder_leave_dvc_status_clean(tmp_path: Path) -> None:
    project = tmp_path / "project"
    package = project / "pkg"
    package.mkdir(parents=True)
    (package / "mod.py").write_text("VALUE = 1\n")
    shutil.copy2(REPO / ".dvcignore", project / ".dvcignore")
    (project / "dvc.yaml").write_text(
        "stages:\n  use:\n    cmd: python -c \"open('out.txt', 'w').write('x')\"\n"
        "    deps: [pkg]\n    outs: [out.txt]\n"
    )
    run(["dvc", "init", "--no-scm", "-q"], project)
    run(["dvc", "repro", "-q"], project)
    assert _status(project) == {}

    for cache in (
        "__pycache__/mod.cpython-311.pyc",
        "stray.pyc",
        ".pytest_cache/v/x",
        ".ruff_cache/x",
    ):
        path = package / cache
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00cache")
    assert _status(project) == {}, "a cache file changed the folder dependency's hash"

    # The check can fail: a real source file in the folder does change it.
    (package / "other.py").write_text("VALUE = 2\n")
    assert "use" in _status(project)
