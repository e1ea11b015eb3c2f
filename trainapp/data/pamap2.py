"""PAMAP2 Physical Activity Monitoring (Reiss & Stricker, 2012): 3 IMUs at 100 Hz, 12 activities.

``path`` is the ``PAMAP2_Dataset`` folder (or its ``Protocol/`` folder); every
``Protocol/subject1XX.dat`` is read (the format is in :mod:`trainapp.data.pamap2_format`).

Channels: for each IMU in ``imus``, the 3 axes of each sensor in ``sensors`` (by default
acc16, gyro and mag of hand, chest and ankle: 27 channels). The +-6 g accelerometer saturates
during fast motion and the orientation columns are documented as invalid, so neither is
offered. Missing values (``NaN``, dropped wireless packets) are forward-filled within each
file. Lines of activity 0 (transient) and of the optional activities are dropped; windows of
``window`` steps every ``stride`` steps are cut inside runs of one activity, so a window never
spans two activities and its label is that activity. Validation holds out whole subjects
(``split_by: subject``); ``test_subjects`` are kept out of training and validation entirely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainapp.data.base import ArrayDataModule
from trainapp.data.pamap2_format import (
    IMU_FIRST_COLUMN,
    PROTOCOL_ACTIVITIES,
    SENSOR_OFFSET,
    read_pamap2_file,
)
from trainapp.data.split import Arrays, SplitBy
from trainapp.data.standin import make_standin
from trainapp.data.textio import require_dir
from trainapp.errors import DataFormatError, DataNotFoundError

_STANDIN_SUBJECTS = range(101, 109)
_STANDIN_WINDOWS = 240
_STANDIN_SEED = 2012


class Pamap2DataModule(ArrayDataModule):
    """PAMAP2 protocol windows as (channels, window) tensors; activities become 0..11."""

    def __init__(
        self,
        path: str | None = None,
        window: int = 128,
        stride: int = 64,
        imus: Sequence[str] = ("hand", "chest", "ankle"),
        sensors: Sequence[str] = ("acc16", "gyro", "mag"),
        test_subjects: Sequence[int] = (),
        batch_size: int = 64,
        seed: int = 42,
        val_fraction: float = 0.2,
        split_by: SplitBy = "subject",
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size, seed, val_fraction, split_by, num_workers)
        if window < 2 or stride < 1:
            raise ValueError(
                f"data.window must be >= 2 and data.stride >= 1; got {window}, {stride}"
            )
        _check_names("data.imus", imus, IMU_FIRST_COLUMN)
        _check_names("data.sensors", sensors, SENSOR_OFFSET)
        self.path = None if path is None else Path(path).expanduser()
        self.window, self.stride = window, stride
        self.test_subjects = tuple(int(s) for s in test_subjects)
        self.columns = [
            IMU_FIRST_COLUMN[imu] + SENSOR_OFFSET[sensor] + axis
            for imu in imus
            for sensor in sensors
            for axis in range(3)
        ]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (len(self.columns), self.window)

    @property
    def num_classes(self) -> int:
        return len(PROTOCOL_ACTIVITIES)

    @property
    def has_test_split(self) -> bool:
        return bool(self.test_subjects)

    def load_fit(self) -> Arrays:
        files = None if self.path is None else self._subject_files()
        subjects = list(_STANDIN_SUBJECTS) if files is None else sorted(files)
        fit = [s for s in subjects if s not in self.test_subjects]
        if not fit:
            raise ValueError(
                f"data.test_subjects={list(self.test_subjects)} leaves no subject to train on;"
                f" the subjects are {subjects}"
            )
        if files is None:
            return self._standin(fit)
        return self._read({s: files[s] for s in fit})

    def load_test(self) -> Arrays:
        if self.path is None:
            return self._standin(self.test_subjects)
        files = self._subject_files()
        missing = [s for s in self.test_subjects if s not in files]
        if missing:
            raise DataNotFoundError(
                f"{self.path}: no subject{missing[0]}.dat for data.test_subjects={list(self.test_subjects)};"
                f" found subjects {sorted(files)}"
            )
        return self._read({s: files[s] for s in self.test_subjects})

    def _standin(self, subjects: Sequence[int]) -> Arrays:
        return make_standin(
            num_classes=len(PROTOCOL_ACTIVITIES),
            num_channels=len(self.columns),
            steps=self.window,
            subjects=list(subjects),
            windows_per_subject=_STANDIN_WINDOWS,
            seed=_STANDIN_SEED,
        )

    def _subject_files(self) -> dict[int, Path]:
        assert self.path is not None
        root = require_dir(self.path, "the PAMAP2_Dataset folder (or its Protocol/ folder)")
        folder = root / "Protocol" if (root / "Protocol").is_dir() else root
        files: dict[int, Path] = {}
        for file in sorted(folder.glob("subject*.dat")):
            match = re.fullmatch(r"subject(\d+)\.dat", file.name)
            if match:
                files[int(match.group(1))] = file
        if not files:
            raise DataNotFoundError(
                f"{folder}: no subject1XX.dat files; expected the PAMAP2_Dataset folder,"
                " whose Protocol/ folder holds subject101.dat ... subject109.dat"
            )
        return files

    def _read(self, files: dict[int, Path]) -> Arrays:
        xs, ys, groups = [], [], []
        for subject, file in files.items():
            x, y = read_pamap2_file(file, self.columns, self.window, self.stride)
            xs.append(x)
            ys.append(y)
            groups.append(np.full(len(y), subject, dtype=np.int64))
        if not sum(len(y) for y in ys):
            raise DataFormatError(
                f"{self.path}: no window of {self.window} steps lies inside one protocol activity"
            )
        return Arrays(np.concatenate(xs), np.concatenate(ys), np.concatenate(groups))


def _check_names(key: str, names: Sequence[str], known: dict[str, int]) -> None:
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(f"{key} must be a non-empty list of {sorted(known)}; got {list(names)}")
