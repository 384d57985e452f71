"""The Snakemake workflow follows the tooling's conventions: --lint and snakefmt are clean,
every rule declares its software (conda) and its size (mem_mb, runtime), and rule logs
hold everything a rule script writes to stderr, tracebacks included."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from helpers import REPO, copy_repo, run, tool_env

RULE_FILES = [
    "Snakefile",
    "workflow/classify.smk",
    *sorted(str(p.relative_to(REPO)) for p in REPO.glob("workflow/rules/*.smk")),
    *sorted(str(p.relative_to(REPO)) for p in REPO.glob("workflow/classify/*.smk")),
]


def test_snakemake_lint_is_clean() -> None:
    result = run(["snakemake", "--lint"], REPO, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefmt_check_is_clean() -> None:
    run(["snakefmt", "--check", *RULE_FILES], REPO, timeout=120)


def test_every_job_asks_memory_and_runtime_and_prints_no_empty_shell_command(
    tmp_path: Path,
) -> None:
    repo = copy_repo(tmp_path / "repo")
    run(["moviegenre", "synth", "--count", "3"], repo)
    dry = run(["snakemake", "-n", "--cores", "2"], repo, timeout=300)
    text = dry.stdout + dry.stderr
    blocks = re.findall(r"^rule (\w+):\n((?:    .*\n)+)", text, re.M)
    rules = {name for name, _ in blocks}
    assert rules >= {"audio_shard", "visual_shard", "extraction_report"}, text
    for name, block in blocks:
        if name == "all":
            continue
        resources = re.search(r"resources: (.*)", block)
        assert resources, f"{name}: no resources\n{block}"
        assert "mem_mb=" in resources[1] and "runtime=" in resources[1], (name, resources[1])
        # GPU on the embedding jobs only.
        assert ("gpu=1" in resources[1]) == (name == "visual_shard"), (name, resources[1])
    assert "Shell command: None" not in text


def test_conda_envs_work_when_snakemake_copies_them() -> None:
    """No env file names a path relative to itself (Snakemake copies it into .snakemake/);
    each env a rule uses installs the package through its post-deploy script instead."""
    used = set()
    for rule_file in RULE_FILES:
        text = (REPO / rule_file).read_text()
        used |= set(re.findall(r'conda:\n\s+"([^"]+)"', text))
    assert used, "no rule declares a conda environment"
    for ref in used:
        env_file = (REPO / "workflow/rules" / ref).resolve()
        env = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        assert not [r for r in pip if r.startswith(("-e", ".", "/"))], env_file
        assert env_file.with_suffix(".post-deploy.sh").is_file(), env_file


def test_rule_log_captures_native_stderr_and_tracebacks(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "rule.log"
    code = (
        "import os, sys, logging\n"
        "from moviegenre.logs import capture_rule_log\n"
        f"capture_rule_log({str(log)!r})\n"
        "os.write(2, b'native stderr line\\n')\n"
        "print('stdout line')\n"
        "logging.getLogger('moviegenre.x').info('log line')\n"
        "raise RuntimeError('boom in the rule script')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=tool_env(), capture_output=True, text=True
    )
    assert result.returncode != 0
    text = log.read_text()
    for expected in ("native stderr line", "stdout line", "log line", "Traceback", "boom"):
        assert expected in text, text
    assert "boom" not in result.stderr  # it went to the log, not the terminal


def test_rule_scripts_capture_their_log() -> None:
    for script in ("extract_audio_shard", "extract_visual_shard", "extraction_report"):
        text = (REPO / "scripts" / f"{script}.py").read_text()
        assert "capture_rule_log(snakemake.log[0])" in text, script
