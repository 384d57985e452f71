"""An archive folder as the classification DAG sees it: its trailers, its shards, and the
entries it cannot take, each with a reason that goes into the table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from moviegenre.data.trailers import VIDEO_EXTENSIONS, Rejected, check_video_path
from moviegenre.features.shards import group_by_shard

#: trailers per shard when `shards` is not given: a job of a few minutes on a GPU, and a
#: kill costs at most that much (the feature store keeps what the job had embedded)
TRAILERS_PER_SHARD = 100


@dataclass
class Archive:
    """The trailers of a folder (id -> path, sorted) and the entries refused, with why."""

    folder: Path
    trailers: dict[str, Path] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)

    def shards(self, count: int | None = None) -> dict[str, list[str]]:
        """Shard name -> trailer ids: stable CRC-32 membership (features/shards.py), so a
        new trailer changes one shard while the shard count stays the same."""
        if count is None:
            count = max(1, math.ceil(len(self.trailers) / TRAILERS_PER_SHARD))
        return group_by_shard(list(self.trailers), count)


def screen_archive(folder: str | Path) -> Archive:
    """Every video file directly in ``folder`` (VIDEO_EXTENSIONS, not hidden).

    Entries the extraction refuses (FIFOs, folders, dangling links, unreadable files, names
    that are not UTF-8 or hold braces) and the second file of a trailer id (a.mp4 and
    a.mkv) are rejected with a reason instead of stopping the run.
    """
    archive = Archive(Path(folder))
    for path in sorted(archive.folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in VIDEO_EXTENSIONS:
            continue
        problem = check_video_path(path, snakemake=True)
        if problem is None and path.stem in archive.trailers:
            first = archive.trailers[path.stem].name
            problem = Rejected(
                path.name, "duplicate_id", f"{first} has the same trailer id; rename one"
            )
        if problem is not None:
            archive.rejected.append(problem)
        else:
            archive.trailers[path.stem] = path
    return archive
