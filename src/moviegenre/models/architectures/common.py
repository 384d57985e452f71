"""What the visual models share: width pairs, gate activations, the merge models' branches.

Editing this module retrains every visual model; each model's own code is its module.
"""

from __future__ import annotations

from typing import Any

from keras import layers

__all__ = ["RECURRENT_ACTIVATIONS", "branch_slices", "branches", "gate_activation", "merge", "pair"]

#: gate activations of the recurrent models (``train.<model>.recurrent_activation``):
#: ``sigmoid`` is Keras 3's default; the seed's Keras 2.2 defaulted to ``hard_sigmoid``.
#: Keras 3's hard_sigmoid is relu6(x + 3) / 6 (slope 1/6), Keras 2.2's was
#: clip(0.2 x + 0.5, 0, 1) (slope 0.2): the nearest built-in, not the same function.
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid")


def branch_slices(branches: int = 12, branch_frames: int = 9) -> list[slice]:
    """Frame ranges of the merge models' branches: branch k gets [k*b, k*b + b) for k = 1..n.

    Branch 0 (the first `branch_frames` frames, usually titles/logos) is skipped as in the
    original method, so the defaults cover frames 9..116.
    """
    if branches < 1 or branch_frames < 1:
        raise ValueError(
            f"branches and branch_frames must be >= 1, got {branches}, {branch_frames}"
        )
    return [slice(k * branch_frames, (k + 1) * branch_frames) for k in range(1, branches + 1)]


def pair(value: Any, what: str) -> tuple[int, int]:
    """Two layer widths from a 2-list (or one int used twice)."""
    if isinstance(value, int):
        return value, value
    values = [int(v) for v in value]
    if len(values) != 2:
        raise ValueError(f"{what} must have 2 values, got {value!r}")
    return values[0], values[1]


def branches(x: Any, n_frames: int, hp: dict) -> list[tuple[str, Any]]:
    """One cropped view of the input per branch, with the branch's name prefix."""
    slices = branch_slices(int(hp["branches"]), int(hp["branch_frames"]))
    needed = slices[-1].stop
    if n_frames < needed:
        raise ValueError(
            f"{len(slices)} branches of {hp['branch_frames']} frames need n_frames >= {needed}, "
            f"got {n_frames}"
        )
    views = []
    for k, part in enumerate(slices, start=1):
        prefix = f"branch_{k:02d}"
        crop = layers.Cropping1D((part.start, n_frames - part.stop), name=f"{prefix}_frames")
        views.append((prefix, crop(x)))
    return views


def gate_activation(hp: dict) -> str:
    """The recurrent layers' gate activation, checked (a typo must not train silently)."""
    name = str(hp["recurrent_activation"])
    if name not in RECURRENT_ACTIVATIONS:
        raise ValueError(
            f"recurrent_activation must be one of {RECURRENT_ACTIVATIONS}, got {name!r}"
        )
    return name


def merge(outs: list[Any], n_genres: int) -> Any:
    """Concatenate the branch outputs and map them to sigmoid genre probabilities."""
    x = layers.Concatenate(name="concat")(outs) if len(outs) > 1 else outs[0]
    return layers.Dense(n_genres, activation="sigmoid", name="genres")(x)
