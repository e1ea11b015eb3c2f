"""UCI HAR (Anguita et al., 2013): 9 inertial channels x 128 steps (2.56 s at 50 Hz), 6 activities.

``path`` is the ``UCI HAR Dataset`` folder as unpacked from the official zip. The raw
``Inertial Signals`` are used (not the 561 engineered features). Training and validation both
come from ``train/`` (21 subjects), split with ``seed``; ``test/`` (9 other subjects) is the
held-out test set, read only by ``trainer.test`` and never used for tuning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainapp.data.base import ArrayDataModule
from trainapp.data.split import Arrays, SplitBy
from trainapp.data.standin import make_standin
from trainapp.data.textio import first_non_finite, read_int_column, read_matrix, require_dir
from trainapp.errors import DataFormatError, DataNotFoundError

CHANNELS = tuple(
    f"{kind}_{axis}" for kind in ("body_acc", "body_gyro", "total_acc") for axis in "xyz"
)
STEPS = 128
ACTIVITIES = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")

# Stand-in size: ~1500 training and ~400 validation windows keep `python train.py` fast on a CPU.
_STANDIN_FIT_SUBJECTS = range(1, 11)
_STANDIN_TEST_SUBJECTS = range(11, 15)
_STANDIN_WINDOWS = 190
_STANDIN_SEED = 2013


class UciHarDataModule(ArrayDataModule):
    """UCI HAR windows as (9, 128) float tensors; labels 1..6 of the files become 0..5."""

    def __init__(
        self,
        path: str | None = None,
        batch_size: int = 64,
        seed: int = 42,
        val_fraction: float = 0.2,
        split_by: SplitBy = "subject",
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size, seed, val_fraction, split_by, num_workers)
        self.path = None if path is None else Path(path).expanduser()

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (len(CHANNELS), STEPS)

    @property
    def num_classes(self) -> int:
        return len(ACTIVITIES)

    @property
    def has_test_split(self) -> bool:
        return True

    def load_fit(self) -> Arrays:
        if self.path is None:
            return self._standin(_STANDIN_FIT_SUBJECTS, _STANDIN_WINDOWS)
        return read_uci_har_split(self.path, "train", with_subjects=self.split_by == "subject")

    def load_test(self) -> Arrays:
        if self.path is None:
            return self._standin(_STANDIN_TEST_SUBJECTS, _STANDIN_WINDOWS // 2)
        return read_uci_har_split(self.path, "test", with_subjects=False)

    def _standin(self, subjects: range, windows: int) -> Arrays:
        return make_standin(
            num_classes=len(ACTIVITIES),
            num_channels=len(CHANNELS),
            steps=STEPS,
            subjects=list(subjects),
            windows_per_subject=windows,
            seed=_STANDIN_SEED,
        )


def read_uci_har_split(root: Path, split: str, with_subjects: bool) -> Arrays:
    """Read ``<root>/<split>/`` (split is ``train`` or ``test``) into (N, 9, 128) windows."""
    require_dir(root, "the 'UCI HAR Dataset' folder, which holds train/ and test/")
    folder = require_dir(root / split, f"the {split}/ folder of the UCI HAR Dataset")
    labels_file = folder / f"y_{split}.txt"
    y = read_int_column(labels_file, "one activity label 1..6 per line", range(1, 7)) - 1
    signals = []
    for channel in CHANNELS:
        file = folder / "Inertial Signals" / f"{channel}_{split}.txt"
        matrix = read_matrix(file, STEPS, f"{STEPS} floats per line, one window per line")
        if len(matrix) != len(y):
            raise DataFormatError(
                f"{file}: has {len(matrix)} windows but {labels_file.name} has {len(y)} labels;"
                " expected one window per label"
            )
        bad_row = first_non_finite(matrix)
        if bad_row is not None:
            raise DataFormatError(f"{file}: line {bad_row + 1} holds NaN or infinity")
        signals.append(matrix)
    groups = _read_subjects(folder, split, len(y)) if with_subjects else None
    return Arrays(np.stack(signals, axis=1), y, groups)


def _read_subjects(folder: Path, split: str, n: int) -> np.ndarray:
    file = folder / f"subject_{split}.txt"
    if not file.is_file():
        raise DataNotFoundError(
            f"{file}: file not found; it lists the subject of each window and is needed for"
            " data.split_by=subject (set data.split_by=random to split windows at random)"
        )
    subjects = read_int_column(file, "one subject id (1..30) per line", range(1, 31))
    if len(subjects) != n:
        raise DataFormatError(f"{file}: has {len(subjects)} lines; expected {n}, one per label")
    return subjects
