"""End to end: the real `dvc` commands on the tiny pipeline in a temporary repo copy, in
the order of the README's user's day.

The baseline is committed with the README's own command, which leaves nothing of the run
out; a second `dvc repro` does nothing; a fusion parameter reruns only fusion and what
follows; a CNN1D parameter reruns only its fold models (train@cnn1d-<fold>) and what
depends on them, never another model's folds; `dvc metrics diff` shows the changed
models' rows against the baseline; the original code's protocol is one `dvc exp run -S
fusion.protocol=original` away; `dvc plots show` draws each chart once, a PR chart per
configured genre; the README's `dvc exp show` fits every model's AU-PRC macro in a
120-column terminal.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, TINY_PARAMS, run, set_params, tool_env

from moviegenre.pipeline.evaluate import headline_name
from moviegenre.registry import EVALUATED_MODELS, VISUAL_MODELS

# the tests are the steps of the README's day in one repository (baseline commit, then
# experiments), so they keep their order when the suite is shuffled (--random-order)
pytestmark = [pytest.mark.slow, pytest.mark.random_order(disabled=True)]

FUSION_STAGES = {
    "audio_svm",
    "fuse@cnn1d",
    "fuse@lstm_merge",
    "fuse@gru",
    "fuse@gru_merge",
    "evaluate",
    "bundle",
}


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def readme_command(start: str) -> list[list[str]]:
    """The command line of the README's user's day that starts with `start`, as argument
    lists (one per `&&` part, the comment dropped): the tests run what the README says."""
    readme = (REPO / "README.md").read_text()
    day = re.split(r"\n##+ ", readme.split("## The user's day\n", 1)[1])[0]
    for line in day.splitlines():
        if line.startswith(start):
            words = shlex.split(line, comments=True)
            parts: list[list[str]] = [[]]
            for word in words:
                if word == "&&":
                    parts.append([])
                else:
                    parts[-1].append(word)
            return parts
    raise AssertionError(f"README.md has no line starting with {start!r}")


def in_terminal(cmd: list[str], cwd: Path, columns: int = 120) -> str:
    """A command's output as a `columns`-wide terminal shows it: a pseudo-terminal, so that
    DVC fits its tables to the terminal as it does for a user; styles stripped."""
    import fcntl
    import pty
    import struct
    import termios

    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**tool_env(), "COLUMNS": str(columns), "TERM": "xterm"}
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdin=child, stdout=child, stderr=child) as proc:
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(parent, 65536)
            except OSError:  # EIO: the command closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=300) == 0, b"".join(chunks).decode(errors="replace")
    os.close(parent)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r", "")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.fixture(scope="module")
def repo(trained_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained repo (as `make run` leaves it) with the baseline committed by
    the README's command, so diffs have a baseline."""
    copy = tmp_path_factory.mktemp("dvc") / "repo"
    shutil.copytree(trained_repo, copy, symlinks=True)
    for cmd in readme_command("git add "):
        run(cmd, copy)
    return copy


def test_the_readme_baseline_commit_leaves_nothing_out(repo: Path) -> None:
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    diff = run(["dvc", "metrics", "diff"], repo)
    assert "failed to load" not in diff.stdout + diff.stderr


def test_trained_pipeline_has_metrics_and_plots(repo: Path) -> None:
    for model in EVALUATED_MODELS:
        row = json.loads((repo / f"results/metrics/{model}.json").read_text())
        assert 0.0 <= row["auprc_micro"] <= 1.0
    for png in ("pr_curves.png", "ap_bars.png", "loss_curves.png"):
        assert (repo / "results/plots" / png).stat().st_size > 1000
    assert (repo / "models/folds/cnn1d/fold-0.keras").exists()
    assert list((repo / "models/svm").glob("*.skops"))


def test_second_repro_runs_nothing(repo: Path) -> None:
    result = run(["dvc", "repro"], repo)
    assert _ran(result.stdout) == set(), result.stdout
    status = run(["dvc", "status"], repo)
    assert "up to date" in status.stdout


def test_fusion_parameter_reruns_only_fusion_and_after(repo: Path) -> None:
    set_params(repo, {"fusion": {"cv_folds": 3}})
    result = run(["dvc", "repro"], repo)
    assert _ran(result.stdout) == FUSION_STAGES, result.stdout


def test_cnn1d_parameter_reruns_only_its_branch(repo: Path) -> None:
    set_params(repo, {"train": {"cnn1d": {"learning_rate": 0.003, "dense_units": 40}}})
    result = run(["dvc", "repro"], repo)
    folds = [f"train@cnn1d-{i}" for i in range(TINY_PARAMS["stacking"]["folds"])]
    assert _ran(result.stdout) == {*folds, "oof@cnn1d", "fuse@cnn1d", "evaluate", "bundle"}
    shown = run(["dvc", "metrics", "diff"], repo)  # one row per changed model and metric
    assert "failed to load" not in shown.stdout + shown.stderr
    assert "results/metrics/cnn1d.json" in shown.stdout, shown.stdout
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo).stdout)
    assert diff["results/metrics/cnn1d.json"], diff
    # the other visual models did not rerun (audio and the fusions did: fusion.cv_folds)
    unchanged = [m for m in VISUAL_MODELS if m != "cnn1d"]
    assert not [m for m in unchanged if f"results/metrics/{m}.json" in diff], diff
    params = json.loads(run(["dvc", "params", "diff", "--json"], repo).stdout)
    assert "train.cnn1d.dense_units" in params["params.yaml"]


def test_original_protocol_is_one_experiment_away(repo: Path) -> None:
    for cmd in readme_command("git commit "):  # keep the changes so far
        run(cmd, repo)
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    result = run(["dvc", "exp", "run", "-S", "fusion.protocol=original"], repo)
    assert _ran(result.stdout) == FUSION_STAGES, result.stdout
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo).stdout)
    assert any(path.startswith("results/metrics/fusion_") for path in diff), diff
    assert "results/metrics/cnn1d.json" not in diff, diff


def test_exp_run_and_plots(repo: Path) -> None:
    result = run(["dvc", "exp", "run", "-S", "evaluate.threshold_split=train"], repo)
    assert _ran(result.stdout) == {"evaluate", "bundle"}, result.stdout
    shown = run(["dvc", "exp", "show", "--json"], repo)
    assert "auprc_micro" in shown.stdout
    out = repo / "plots_html"
    run(["dvc", "plots", "show", "-o", str(out)], repo)
    page = (out / "index.html").read_text()
    assert "recall" in page and "loss" in page.lower()
    run(["dvc", "plots", "diff", "--json"], repo)


def test_each_chart_is_drawn_once(repo: Path) -> None:
    """Each chart once (the PR and AP data were drawn a second time against `step`), a PR
    chart per genre of the data set (`dataset.genres`), the loss curves, every image."""
    shown = json.loads(run(["dvc", "plots", "show", "--json"], repo).stdout)
    assert not shown.get("errors"), shown.get("errors")
    renders = shown["data"]
    assert [k for k, v in renders.items() if len(v) != 1] == []
    genres = json.loads((repo / "results/dataset/report.json").read_text())["genres"]
    vega = {k for k, v in renders.items() if v[0]["type"] == "vega"}
    assert {k for k in vega if k.startswith("results/plots/pr/")} == {
        f"results/plots/pr/{g}.json" for g in genres
    }
    assert len(vega) == len(genres) + 2  # + the AP chart and the loss curves
    assert len(renders) == len(vega) + len(EVALUATED_MODELS) + 3  # fault matrices, 3 PNGs


def test_readme_exp_show_fits_120_columns(repo: Path) -> None:
    """The README's `dvc exp show` in a 120-column terminal: every model's test AU-PRC
    macro, for the baseline and the experiments, without an ellipsis."""
    [cmd] = readme_command("dvc exp show ")
    screen = in_terminal(cmd, repo, columns=120)
    assert "…" not in screen, screen
    lines = [line for line in screen.splitlines() if line.strip()]
    assert max(map(len, lines)) <= 120, screen
    header = next(line for line in lines if "Experiment" in line).split()
    assert header[1:] == [headline_name(m) for m in EVALUATED_MODELS], screen
    rows = [line.split() for line in lines if re.search(r"\d\.\d{3}", line)]
    assert len(rows) >= 3, screen  # the workspace, the baseline, an experiment at least
    assert all(sum(bool(re.fullmatch(r"[\d.]+", w)) for w in row) >= 9 for row in rows), screen
