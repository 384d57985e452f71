"""Prose that points somewhere points at something that exists, and says what is true."""

from __future__ import annotations

import re
import subprocess

import yaml
from helpers import REPO

import moviegenre.cli

# The method file is docs/method.md; the brief it came from is not part of the repository.
# decode.py's two mentions wait for the branch that owns that file (remove them from here
# when they are fixed).
PENDING = {"tests/test_prose.py"}


def _tracked_text_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    names = [n for n in out.decode().split("\0") if n]
    return [
        n
        for n in names
        if n.endswith((".py", ".md", ".yaml", ".smk", ".toml"))
        or n
        in (
            "Snakefile",
            "Makefile",
        )
    ]


def test_no_file_cites_a_method_file_that_is_not_in_the_repository() -> None:
    assert (REPO / "docs/method.md").is_file()
    offenders = [
        f"{name}:{number}"
        for name in _tracked_text_files()
        if name not in PENDING and (REPO / name).is_file()
        for number, line in enumerate((REPO / name).read_text().splitlines(), 1)
        if re.search(r"(?<![\w/])METHOD\.md", line)
    ]
    assert not offenders, f"cite docs/method.md, not METHOD.md: {offenders}"


def test_every_docs_file_cited_exists() -> None:
    missing = {
        f"{name}: {cited}"
        for name in _tracked_text_files()
        if (REPO / name).is_file()
        for cited in re.findall(r"\bdocs/[\w./-]+\.md\b", (REPO / name).read_text())
        if not (REPO / cited).is_file()
    }
    assert not missing, sorted(missing)


def test_cli_docstring_matches_what_dvc_runs() -> None:
    # cli.py says each DVC stage is `python -m moviegenre.pipeline.<stage>`, not this command.
    doc = " ".join(moviegenre.cli.__doc__.split())
    assert "each DVC stage is `python -m moviegenre.pipeline.<stage>`" in doc
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    commands = [s.get("cmd") or s["do"]["cmd"] for s in stages.values()]
    assert not [c for c in commands if c.split()[0] == "moviegenre"], commands
    assert any(c.startswith("python -m moviegenre.pipeline.") for c in commands)
