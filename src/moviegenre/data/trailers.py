"""Find trailer files in a folder: the file name's stem is the trailer id."""

from __future__ import annotations

from pathlib import Path

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov")


class DuplicateTrailerError(ValueError):
    """Two files claim the same trailer id (e.g. 000002.mp4 and 000002.mkv)."""


def discover_trailers(videos_dir: str | Path) -> dict[str, Path]:
    """Map trailer id -> video path for every video file directly in videos_dir, sorted by id.

    Hidden files and other extensions are ignored; two files with the same stem are an error
    naming both, because silently picking one would mislabel a trailer.
    """
    videos_dir = Path(videos_dir)
    if not videos_dir.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(videos_dir.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in VIDEO_EXTENSIONS:
            continue
        if not path.is_file():
            continue
        trailer_id = path.stem
        if trailer_id in found:
            raise DuplicateTrailerError(
                f"trailer id {trailer_id!r} has two files: {found[trailer_id].name} and {path.name}"
            )
        found[trailer_id] = path
    return dict(sorted(found.items()))
