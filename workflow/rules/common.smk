# Helpers shared by the rules: validated config, trailer discovery and stable shards.
import json
import sys
import time
from pathlib import Path

from moviegenre import paths
from moviegenre.atomic import write_text_atomic
from moviegenre.config import exit_on_config_error, validate_config
from moviegenre.data.trailers import screen_trailers
from moviegenre.features.backbones import backbone_params
from moviegenre.features.code_version import feature_code_version
from moviegenre.features.shards import group_by_shard
from moviegenre.snakemake_locks import clear_stale_locks, forget_owner, record_owner

# A bad value stops the run here, before any job, naming the key and what it accepts
# (the config files are re-read for duplicate keys, which Snakemake's reader merges).
with exit_on_config_error():
    validate_config(config, files=workflow.configfiles)

# A run killed earlier (SIGKILL, lost node) left its locks: remove them if their owner is dead.
if clear_stale_locks():
    print("moviegenre: removed the locks of a killed earlier run", file=sys.stderr)

# Entries that cannot be trailers (FIFOs, folders, dangling links, unreadable files, names
# that are not UTF-8 or hold braces) are left out here and reported by the report rule.
TRAILERS, REJECTED = screen_trailers(config["data"]["videos_dir"], snakemake=True)
for _rejected in REJECTED:
    print(
        f"moviegenre: not extracted: {_rejected.name}: {_rejected.reason}: {_rejected.detail}",
        file=sys.stderr,
    )
SHARDS = group_by_shard(list(TRAILERS), config["extraction"]["shards"])
VISUAL_DIR = paths.visual_features_dir(config)
# LMTD-9's precomputed ResNet-152 features replace visual extraction when imported.
EXTRACT_VISUAL = VISUAL_DIR.name != paths.LMTD_VISUAL_NAME
EXTRACTION_REPORT = str(paths.EXTRACTION_REPORT)
EXTRACTION_SUMMARY = str(paths.EXTRACTION_SUMMARY)
LOGS = paths.LOGS

# The feature store (features/store.py) exists even before a job writes to it: the features
# stage of dvc.yaml lists it as an output.
paths.FEATURE_STORE.mkdir(parents=True, exist_ok=True)

if not TRAILERS:
    print(f"moviegenre: no video files in {config['data']['videos_dir']}", file=sys.stderr)


wildcard_constraints:
    shard=r"\d{4}",


def shard_videos(wildcards):
    """The video files of one shard (a list, so names with spaces need no shell quoting)."""
    return [str(TRAILERS[trailer_id]) for trailer_id in SHARDS[wildcards.shard]]


def status_files(wildcards=None):
    files = [str(paths.status_file(paths.audio_shard(s))) for s in SHARDS]
    if EXTRACT_VISUAL:
        files += [str(paths.status_file(paths.shard_file(VISUAL_DIR, s))) for s in SHARDS]
    return files


def record_run_start():
    """When this run began: its summary counts only the shards written after it."""
    write_text_atomic(paths.EXTRACTION_RUN_STARTED, str(time.time_ns()))


def print_extraction_summary():
    summary_path = Path(EXTRACTION_SUMMARY)
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        try:
            started = int(paths.EXTRACTION_RUN_STARTED.read_text())
        except (OSError, ValueError):
            started = 0
        if summary_path.stat().st_mtime_ns < started:  # the report job did not run
            print("moviegenre: no trailer decoded or reused: features up to date", file=sys.stderr)
        else:
            print(f"moviegenre: {summary['text']}", file=sys.stderr)
