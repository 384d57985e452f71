"""One input file's outcome and a batch's exit status: `predict` and `audio-features` both.

A file is either done (probabilities, or the audio vector for `audio-features`) or not,
with a reason; a batch exits 0 when every file is done from all its inputs, 1 when some file
is not (or none was given), 3 when every file is done but some without sound (fallback
scores), 2 for bad usage or a bad bundle/params.yaml before any file is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from moviegenre.data.trailers import InputProblem

#: exit codes: every file done from all its inputs / some file not done / bad usage or
#: bundle / every file done, but some without sound (fallback scores)
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUDIO_MISSING = 0, 1, 2, 3


@dataclass
class TrailerResult:
    """One input file's outcome: probabilities in genre order, or the reason it has none."""

    path: str
    ok: bool
    reason: str = ""
    detail: str = ""
    probabilities: np.ndarray | None = None
    predicted: list[str] = field(default_factory=list)
    audio_missing: bool = False
    audio_reason: str = ""
    fallback: str = ""  # fusion.policy's fallback (visual_scores, train_prevalence) or ""
    silent: bool = False
    seconds: float = 0.0
    audio_flags: str = ""
    audio_vector: np.ndarray | None = None  # audio-features: the pipeline's audio values
    duration_s: float = float("nan")  # audio-features: the file's duration

    @property
    def trailer_id(self) -> str:
        return Path(self.path).stem


def problem_results(problems: Iterable[InputProblem]) -> list[TrailerResult]:
    """The results of paths that gave no file (data.trailers.collect_inputs' problems)."""
    return [TrailerResult(p.path, False, p.reason, p.detail) for p in problems]


class Counts:
    """A batch's counts, all `predict --output` keeps of each result, and its exit status."""

    def __init__(self) -> None:
        self.files = self.predicted = self.failed = self.audio_missing = self.skipped = 0

    @classmethod
    def of(cls, results: Iterable[TrailerResult]) -> Counts:
        counts = cls()
        for r in results:
            counts.add(r.ok, r.audio_missing)
        return counts

    def add(self, ok: bool, audio_missing: bool) -> None:
        self.files += 1
        self.predicted += ok
        self.failed += not ok
        self.audio_missing += ok and audio_missing

    def summary(self) -> dict[str, int]:
        return {
            "files": self.files,
            "predicted": self.predicted,
            "failed": self.failed,
            "audio_missing": self.audio_missing,
        }

    def exit_code(self) -> int:
        if not self.files or self.failed:
            return EXIT_FAILED
        return EXIT_AUDIO_MISSING if self.audio_missing else EXIT_OK


def summary(results: Sequence[TrailerResult]) -> dict[str, int]:
    """files, predicted, failed and audio_missing (of the predicted) counts."""
    return Counts.of(results).summary()


def exit_code(results: Sequence[TrailerResult]) -> int:
    """The batch's exit status (EXIT_OK, EXIT_FAILED or EXIT_AUDIO_MISSING)."""
    return Counts.of(results).exit_code()
