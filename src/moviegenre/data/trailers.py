"""Find trailer files in a folder: the file name's stem is the trailer id.

Anything in the folder with a video extension that cannot be read as a trailer (a FIFO, a
folder, a dangling link, a file that will not open, a name that is not UTF-8 or that
Snakemake would take for a wildcard pattern) is returned as a Rejected entry with a reason,
so the extraction report and ``predict`` name it instead of stopping or dropping it silently.
``collect_inputs`` applies the same screening to the paths named on a command line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov")


class DuplicateTrailerError(ValueError):
    """Two files claim the same trailer id (e.g. 000002.mp4 and 000002.mkv)."""


@dataclass(frozen=True)
class Rejected:
    """A folder entry with a video extension that is not extracted, and why."""

    name: str  # printable: bytes that are not UTF-8 shown as \\xNN
    reason: str  # bad_name, not_a_file, broken_link, cannot_open (classify: duplicate_id)
    detail: str

    @property
    def trailer_id(self) -> str:
        return Path(self.name).stem


def display_name(name: str) -> str:
    """A file name as text that can be printed and written as UTF-8 whatever its bytes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe): reading it could block forever"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_video_path(path: Path, snakemake: bool = False) -> Rejected | None:
    """None if `path` is a readable regular file (or a link to one), else why not.

    Never opens anything but a regular file, so a FIFO cannot block. ``snakemake``: also
    refuse names Snakemake would read as wildcard patterns (braces).
    """
    name = display_name(path.name)
    try:
        os.fsencode(path.name).decode("utf-8")
    except UnicodeDecodeError:
        return Rejected(name, "bad_name", "the file name is not valid UTF-8; rename the file")
    if snakemake and ("{" in path.name or "}" in path.name):
        return Rejected(
            name, "bad_name", "braces in the file name read as a Snakemake wildcard; rename it"
        )
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if path.is_symlink():
            return Rejected(
                name,
                "broken_link",
                f"a symbolic link to {os.readlink(path)!r}, which does not exist",
            )
        return Rejected(name, "cannot_open", "no such file (removed while listing?)")
    except OSError as exc:  # e.g. a link loop
        return Rejected(
            name,
            "broken_link" if path.is_symlink() else "cannot_open",
            exc.strerror or type(exc).__name__,
        )
    if not stat.S_ISREG(mode):
        link = " a symbolic link to" if path.is_symlink() else ""
        return Rejected(name, "not_a_file", f"{link} {_kind(mode)}".strip())
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return Rejected(name, "cannot_open", f"cannot be read: {exc.strerror or exc}")
    return None


def screen_trailers(
    videos_dir: str | Path, snakemake: bool = False
) -> tuple[dict[str, Path], list[Rejected]]:
    """(trailer id -> video path, sorted by id; rejected entries) for videos_dir's files.

    Hidden files and other extensions are ignored; two files with the same stem are an error
    naming both, because silently picking one would mislabel a trailer.
    """
    videos_dir = Path(videos_dir)
    if not videos_dir.is_dir():
        return {}, []
    found: dict[str, Path] = {}
    rejected: list[Rejected] = []
    for path in sorted(videos_dir.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in VIDEO_EXTENSIONS:
            continue
        problem = check_video_path(path, snakemake)
        if problem is not None:
            rejected.append(problem)
            continue
        trailer_id = path.stem
        if trailer_id in found:
            raise DuplicateTrailerError(
                f"trailer id {trailer_id!r} has two files: {found[trailer_id].name} and {path.name}"
            )
        found[trailer_id] = path
    return dict(sorted(found.items())), rejected


def discover_trailers(videos_dir: str | Path) -> dict[str, Path]:
    """Map trailer id -> video path for every readable video file directly in videos_dir."""
    return screen_trailers(videos_dir)[0]


@dataclass(frozen=True)
class InputProblem:
    """A path given on the command line that yields no trailer file, and why."""

    path: str  # as given (an entry of a folder: the folder's path joined with its name)
    reason: str  # a Rejected reason, or not_found / no_videos
    detail: str


def collect_inputs(paths: Iterable[str | Path]) -> tuple[list[Path], list[InputProblem]]:
    """Video files named or found in folders (non-recursive, VIDEO_EXTENSIONS), in order.

    What `moviegenre predict` and `moviegenre audio-features` read. A file named explicitly
    is taken whatever its extension (decoding decides); hidden files in folders are
    skipped; the same file twice is taken once. A missing path, a folder without videos,
    and any entry the extraction would reject too (FIFO, folder or dangling link with a
    video extension, unreadable file, name not UTF-8) becomes an InputProblem with the
    extraction's reason instead of stopping the batch or vanishing.
    """
    files: list[Path] = []
    problems: list[InputProblem] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    def reject(path: Path, problem: Rejected) -> None:
        shown = str(path.parent / problem.name) if path.parent != Path(".") else problem.name
        problems.append(InputProblem(shown, problem.reason, problem.detail))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, rejected = screen_trailers(path)
            for problem in rejected:
                reject(path / problem.name, problem)
            if not found and not rejected:
                detail = f"no {'/'.join(VIDEO_EXTENSIONS)} file in this folder"
                problems.append(InputProblem(str(path), "no_videos", detail))
            for p in found.values():
                add(p)
        elif path.exists() or path.is_symlink():
            problem = check_video_path(path)
            if problem is None:
                add(path)
            else:
                reject(path, problem)
        else:
            problems.append(InputProblem(str(path), "not_found", "no such file or folder"))
    return files, problems
