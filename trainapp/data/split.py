"""Seeded train/validation splits and train-set standardisation, shared by every data module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

SplitBy = Literal["random", "subject"]


@dataclass(frozen=True)
class Arrays:
    """Samples ``x`` (N, C, T) or (N, F), integer labels ``y`` (N,), and subject ids (N,) or None."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or (
            self.groups is not None and len(self.groups) != len(self.y)
        ):
            raise ValueError(
                f"x, y and groups must have one entry per sample; got {len(self.x)}, {len(self.y)}"
                f" and {None if self.groups is None else len(self.groups)}"
            )

    def take(self, index: np.ndarray) -> Arrays:
        groups = None if self.groups is None else self.groups[index]
        return Arrays(self.x[index], self.y[index], groups)


def split_indices(
    n: int, groups: np.ndarray | None, val_fraction: float, seed: int, split_by: SplitBy
) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted (train, val) sample indices, the same for the same arguments.

    ``split_by="subject"`` holds out whole subjects (shuffled with ``seed``) until at least
    ``val_fraction`` of the samples are held out: HAR windows overlap, so a random split puts
    near-copies of training windows into validation and overstates accuracy.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1); got {val_fraction}")
    rng = np.random.default_rng(seed)
    if split_by == "random":
        order = rng.permutation(n)
        n_val = min(n - 1, max(1, round(n * val_fraction)))
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    if split_by != "subject":
        raise ValueError(f"split_by must be 'random' or 'subject'; got {split_by!r}")
    if groups is None:
        raise ValueError(
            "split_by='subject' needs subject ids; this dataset has none, use 'random'"
        )
    subjects = rng.permutation(np.unique(groups))
    if len(subjects) < 2:
        raise ValueError(f"split_by='subject' needs at least 2 subjects; found {len(subjects)}")
    held_out: list[int] = []
    n_val = 0
    for subject in subjects[:-1]:  # at least one subject stays in training
        if n_val >= val_fraction * n:
            break
        held_out.append(int(subject))
        n_val += int(np.sum(groups == subject))
    is_val = np.isin(groups, held_out)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


@dataclass(frozen=True)
class Standardizer:
    """Per-channel (sequences) or per-feature (tabular) mean/std, fitted on the training split."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        axes = (0, *range(2, x.ndim))  # everything but the channel/feature axis
        mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)
        std = x.std(axis=axes, keepdims=True, dtype=np.float64)
        # Constant features (e.g. the blank border pixels of digits) are centred, not scaled.
        std[std < 1e-8] = 1.0
        return cls(mean[0].astype(np.float32), std[0].astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)
