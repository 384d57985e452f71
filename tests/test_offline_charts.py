"""`dvc plots show` / `dvc plots diff` pages draw every chart with no network.

DVC's own page loads vega, vega-lite and vega-embed from a CDN: offline, every chart was
blank. The project's page template (plots_page/dvc_plots.html, named in .dvc/config)
carries them inline. Here a real headless Chromium (Debian's `chromium`, installed with
apt-get when missing) renders both pages in a network namespace of its own (or, where that
cannot be made, with every host unresolvable and a dead proxy) and the test finds the
drawn marks of each chart in the page, and the AP values among them. Screenshots are kept
beside the pages in the test's temporary folder (printed with -s).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from evaluation_tables import write_tables
from helpers import REPO, run

from moviegenre import paths
from moviegenre.config import load_params
from moviegenre.evaluation import plots, plots_page
from moviegenre.genres import GENRES_9
from moviegenre.pipeline import evaluate
from moviegenre.registry import EVALUATED_MODELS, VISUAL_MODELS

N_CHARTS = len(GENRES_9) + 2  # a PR chart per genre, the AP chart, the loss chart


def test_committed_page_is_the_generated_one_and_loads_nothing() -> None:
    """plots_page/dvc_plots.html is what `python -m moviegenre.evaluation.plots_page` builds
    from the pinned vl-convert, it asks DVC for no CDN scripts and loads no script by URL."""
    page = plots_page.PAGE.read_text(encoding="utf-8")
    assert page == plots_page.build_page(), "rerun: python -m moviegenre.evaluation.plots_page"
    assert "{plot_divs}" in page and "{scripts}" not in page
    assert re.findall(r"<script[^>]*\bsrc=", page) == []
    assert re.findall(r"<link[^>]*href=", page) == []
    config = (REPO / ".dvc" / "config").read_text()
    assert re.search(r"^\s*html_template = \.\./plots_page/dvc_plots\.html$", config, re.M)


def _chromium() -> str:
    """Debian's headless Chromium, installed with apt-get (as root) when missing."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("these tests need Debian's chromium: apt-get install chromium (as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=900)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=900
    )
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium but it is not on PATH"
    return found


def _offline_prefix() -> list[str]:
    """Run in a new network namespace (only a down loopback) where the kernel allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def render(chromium: str, page: Path, screenshot: Path) -> str:
    """The page's DOM after its scripts ran, rendered with no network; saves a screenshot."""
    command = [
        *_offline_prefix(),
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--proxy-server=127.0.0.1:9",  # should the namespace be missing: nothing goes out
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1400,6000",
        "--virtual-time-budget=8000",
        f"--screenshot={screenshot}",
        "--dump-dom",
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert screenshot.stat().st_size > 20_000
    return result.stdout


def charts(page_html: str, dom: str) -> dict[str, str]:
    """Each chart DVC asked vega-embed to draw: its element id -> its rendered DOM."""
    ids = re.findall(r"vegaEmbed\('#([^']+)'", page_html)
    starts = sorted((dom.index(f'<div id="{i}"'), i) for i in ids)
    ends = [s for s, _ in starts[1:]] + [len(dom)]
    return {i: dom[s:e] for (s, i), e in zip(starts, ends, strict=True)}


def marks(chart_dom: str) -> list[str]:
    """The aria-labels of the drawn data marks (lines, bars, points) of one chart."""
    labels = []
    for group in re.findall(r'<g class="mark-\w+ role-mark.*?</g>', chart_dom, re.S):
        labels += re.findall(r'<path aria-label="([^"]*)"[^>]* d="M', group)
    return labels


@pytest.fixture(scope="module")
def plots_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The evaluate stage's outputs (9 genres, every model) and fold-0 loss curves written
    by dvclive, committed; then the workspace changed (AP and PR lower), for `plots diff`."""
    from dvclive import Live

    root = tmp_path_factory.mktemp("offline_charts")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        write_tables(root)
        for k, model in enumerate(VISUAL_MODELS):
            history = {
                "loss": [0.70 - 0.06 * e - 0.01 * k for e in range(6)],
                "val_loss": [0.72 - 0.03 * e - 0.01 * k for e in range(6)],
            }
            live_dir = paths.training_log_dir(model, 0)
            live = Live(dir=str(live_dir), report=None, save_dvc_exp=False, dvcyaml=False)
            for train_loss, val_loss in zip(history["loss"], history["val_loss"], strict=True):
                live.log_metric("train/loss", train_loss)
                live.log_metric("eval/loss", val_loss)
                live.next_step()
            live.end()
            (live_dir / paths.TRAINING_HISTORY).write_text(json.dumps(history))
        evaluate.run(load_params(REPO / "params.yaml"))
    for name in ("dvc.yaml", "params.yaml", "plots_page/dvc_plots.html"):
        (root / name).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / name, root / name)
    run(["git", "init", "-q"], root)
    run(["dvc", "init", "-q"], root)
    shutil.copy(REPO / ".dvc" / "config", root / ".dvc" / "config")  # the shipped template
    run(["git", "add", "-A"], root)
    run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "."],
        root,
    )
    lower = {}
    for model in EVALUATED_MODELS:
        rows = json.loads((root / paths.ap_plot_path(model)).read_text())
        lower[model] = {r["genre"]: round(r["ap"] * 0.8, 4) for r in rows}
        rows = [{"genre": g, "ap": ap} for g, ap in lower[model].items()]
        plots.write_rows(rows, root / paths.ap_plot_path(model))
    plots.plot_ap_bars(lower, list(GENRES_9), root / paths.AP_BARS_PNG)
    for genre in GENRES_9:
        rows = json.loads((root / paths.pr_plot_path(genre)).read_text())
        for row in rows:
            row.update({m: round(row[m] * 0.8, 4) for m in EVALUATED_MODELS})
        plots.write_rows(rows, root / paths.pr_plot_path(genre))
    return root


@pytest.mark.slow
@pytest.mark.parametrize("command", ["show", "diff"])
def test_dvc_plots_page_draws_every_chart_offline(plots_repo: Path, command: str) -> None:
    out = plots_repo / f"page_{command}"
    args = ["show"] if command == "show" else ["diff", "HEAD"]
    run(["dvc", "plots", *args, "-o", str(out)], plots_repo)  # no template flag: .dvc/config
    page_html = (out / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*\bsrc=", page_html) == []
    screenshot = out / f"{command}.png"
    dom = render(_chromium(), out / "index.html", screenshot)
    print(f"\nscreenshot: {screenshot}")
    drawn = charts(page_html, dom)
    assert len(drawn) == N_CHARTS
    revs = {"workspace"} if command == "show" else {"workspace", "HEAD"}
    for chart_id, chart_dom in drawn.items():
        assert "<svg" in chart_dom, f"{chart_id}: nothing drawn"
        labels = " | ".join(marks(chart_dom))
        assert labels, f"{chart_id}: no marks"
        # one revision: a colour per line, named in the marks instead of the revision
        by_line = command == "show" and not chart_id.startswith("Average_precision")
        assert set(re.findall(r"rev: (\w+)", labels)) == (set() if by_line else revs), chart_id
    if command == "show":  # each PR line ends (recall 1) at its file's value
        for genre in GENRES_9:
            labels = " | ".join(marks(drawn[f"results_plots_pr_{genre}_json"]))
            ends = re.findall(
                r"recall \(test\): 1; interpolated precision: ([\d.]+);[^|]*?field: (\w+)", labels
            )
            last = json.loads((plots_repo / paths.pr_plot_path(genre)).read_text())[-1]
            assert last["recall"] == 1.0
            assert {m: float(p) for p, m in ends} == {m: last[m] for m in EVALUATED_MODELS}, labels[
                :600
            ]
    ap_chart = next(v for k, v in drawn.items() if k.startswith("Average_precision"))
    drawn_ap = {
        (m.group(2), float(m.group(1)), m.group(3))
        for m in re.finditer(
            r"average precision \(test\): ([\d.]+); genre: (\w+); rev: (\w+)",
            " | ".join(marks(ap_chart)),
        )
    }
    for model in EVALUATED_MODELS:
        for row in json.loads((plots_repo / paths.ap_plot_path(model)).read_text()):
            assert (row["genre"], row["ap"], "workspace") in drawn_ap, (model, row)
    images = re.findall(r'<img src="(static/[^"]+)"', page_html)
    assert len(images) == len(revs) * (len(EVALUATED_MODELS) + 3)  # fault matrices, 3 PNGs
    assert all((out / src).stat().st_size > 5000 for src in images)
