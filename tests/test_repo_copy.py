"""The suite's repo-copy helper gives the same tree whatever the working tree holds
(issue 12: `make run` then `make test` in one clone must pass)."""

from __future__ import annotations

from pathlib import Path

from helpers import copy_repo, run


def _files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.relative_to(root).parts
    )


# What `make run` leaves in a clone: DVC outputs (some unignored: cache: false metrics and
# plots, the .gitignore files DVC writes beside its outputs, dvc.lock), Snakemake's shards,
# data and models.
RUN_OUTPUTS = {
    "results/metrics/cnn1d.json": "{}",
    "results/metrics_table.txt": "cnn1d 0.5",
    "results/plots/pr/Action.json": "[]",
    "results/.gitignore": "/dataset\n",
    "results/extraction_report.csv": "trailer_id,file\n",
    "results/features/visual/mobilenetv3small/shard-0000.parquet": "PAR1",
    "results/logs/synth.log": "log",
    "data/synthetic/trailers/000001.mp4": "video",
    "models/cnn1d.keras": "model",
    "models/.gitignore": "/cnn1d.keras\n",
    "dvc.lock": "schema: '2.0'\n",
    "dvc_plots/index.html": "<html>",
}


def test_copy_of_a_tree_with_run_outputs_equals_a_clean_copy(tmp_path: Path) -> None:
    clean = copy_repo(tmp_path / "clean")  # a git repo holding only the sources
    used = copy_repo(tmp_path / "used")
    for name, text in RUN_OUTPUTS.items():
        (used / name).parent.mkdir(parents=True, exist_ok=True)
        (used / name).write_text(text)
    (used / "src/moviegenre/new_module.py").write_text('"""Not committed yet."""\n')
    # `make run` leaves DVC's .gitignore files and dvc.lock staged (DVC's autostage), and a
    # user may commit a baseline: tracked outputs are outputs all the same.
    run(["git", "add", "results/.gitignore", "models/.gitignore", "dvc.lock"], used)
    run(["git", "add", "-f", "results/metrics/cnn1d.json"], used)

    from_clean = copy_repo(tmp_path / "from_clean", source=clean)
    from_used = copy_repo(tmp_path / "from_used", source=used)
    extra = set(_files(from_used)) - set(_files(from_clean))
    assert extra == {"src/moviegenre/new_module.py"}  # new sources come, outputs do not
    assert set(_files(from_clean)) <= set(_files(from_used))
    assert [p.name for p in (from_used / "results").iterdir()] == ["README.md"]
    assert not (from_used / "data").exists() and not (from_used / "models").exists()
    status = run(["git", "status", "--porcelain"], from_used).stdout
    assert status == ""  # the copy is committed, as every test that runs dvc expects
