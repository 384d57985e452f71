"""`moviegenre classify ARCHIVE`: the classification workflow, run by Snakemake.

A thin driver: it writes the run's config beside its outputs and calls
``snakemake -s workflow/classify.smk`` with it, so that everything (shards, resumption
after a kill, the Slurm and Kubernetes profiles, logs) is Snakemake's. Any argument after
``--`` goes to Snakemake as it is (``-- --cores 8``, ``-- -n``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import moviegenre
from moviegenre import paths
from moviegenre.classify.plan import RUN_RECORD, default_out

WORKFLOW = Path("workflow") / "classify.smk"
CONFIG_FILE = "config.yaml"
EPILOG = (
    "Arguments after -- go to Snakemake (e.g. -- --cores 8, or -- -n to list the jobs). The "
    "same command again resumes a killed or failed run: finished shards are kept, the "
    "others redone, and trailers already in the feature store are not decoded again."
)


def _in_a_clone(relative: Path) -> Path:
    """``relative`` in this working folder (a clone), else in the clone installed."""
    here = Path.cwd() / relative
    if here.exists():
        return here
    clone = Path(moviegenre.__file__).resolve().parents[2] / relative
    if clone.exists():
        return clone
    raise FileNotFoundError(str(relative))


def workflow_file() -> Path:
    return _in_a_clone(WORKFLOW)


def profile_dir(name: str) -> Path:
    """profiles/<name>: named explicitly, so it is found from any working folder (Snakemake
    looks for profiles/default only beside the working folder or the Snakefile)."""
    return _in_a_clone(Path("profiles") / name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", help="folder of trailers (its video files, not sub-folders)")
    parser.add_argument("--bundle", default=str(paths.MODELS / "bundle"), help="bundle folder")
    parser.add_argument("--model", help="a model of the bundle (default: the bundle's default)")
    parser.add_argument("--out", help="output folder (default: results/classify/<archive name>)")
    parser.add_argument(
        "--shards", type=int, help="shard count (default: one per 100 trailers; fix it for an "
        "archive that grows, so a new trailer changes one shard)",
    )  # fmt: skip
    parser.add_argument("--backbone-weights", help="the backbone weights file's new place")
    parser.add_argument(
        "--cluster-cores", type=int, help="cores each GPU job asks of a cluster (default 8)"
    )
    parser.add_argument(
        "--profile", help="a workflow profile of profiles/: slurm, kubernetes (default: default)"
    )
    parser.add_argument(
        "--redo", action="store_true", help="remove this output folder's results first"
    )


def split_snakemake_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(moviegenre's arguments, Snakemake's: those after ``--``). Split before argparse,
    which cannot give a positional argument and the words after ``--`` separately."""
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1 :]
    return argv, []


def _config(args: argparse.Namespace, out: Path) -> dict:
    config = {"archive": str(Path(args.archive).resolve()), "bundle": args.bundle, "out": str(out)}
    for key in ("model", "shards", "backbone_weights", "cluster_cores"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    return config


def snakemake_command(args: argparse.Namespace, configfile: Path) -> list[str]:
    argv = [sys.executable, "-m", "snakemake", "-s", str(workflow_file())]
    argv += ["--configfile", str(configfile)]
    argv += ["--workflow-profile", str(profile_dir(args.profile or "default"))]
    return argv + list(getattr(args, "snakemake_args", []))


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else default_out(args.archive)
    if args.redo and out.is_dir():
        if not (out / RUN_RECORD).is_file():
            print(f"moviegenre classify: {out} is not a classification output; not removing it")
            return 2
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    configfile = out / CONFIG_FILE
    # JSON is YAML: Snakemake's --configfile reads it, and no path is read as a number
    configfile.write_text(json.dumps(_config(args, out), indent=2) + "\n", encoding="utf-8")
    command = snakemake_command(args, configfile)
    print("moviegenre classify: " + " ".join(command[1:]), file=sys.stderr)
    return subprocess.run(command, check=False).returncode
