"""The PAMAP2 ``.dat`` format: one subject's recording into labelled windows.

Each line has 54 values: timestamp, activityID, heart rate, then 17 columns for each IMU
(hand, chest, ankle): temperature, 3D acceleration +-16 g, 3D acceleration +-6 g, 3D gyroscope,
3D magnetometer, 4 orientation values (documented as invalid). Missing values are ``NaN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainapp.data.textio import read_matrix
from trainapp.errors import DataFormatError

PROTOCOL_ACTIVITIES = (1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 17, 24)
# Every activityID PAMAP2 uses: 0 (transient), the protocol ones and the optional ones.
ALL_ACTIVITY_IDS = frozenset((0, *PROTOCOL_ACTIVITIES, 9, 10, 11, 18, 19, 20))
N_COLUMNS = 54
IMU_FIRST_COLUMN = {"hand": 3, "chest": 20, "ankle": 37}
SENSOR_OFFSET = {"acc16": 1, "gyro": 7, "mag": 10}  # first of 3 axis columns inside an IMU block


def read_pamap2_file(
    file: Path, columns: Sequence[int], window: int, stride: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windows (N, len(columns), window) and class indices (N,) from one subject's .dat file."""
    data = read_matrix(file, N_COLUMNS, f"{N_COLUMNS} whitespace-separated values per line")
    activity = data[:, 1]
    valid = np.isfinite(activity) & np.isin(activity, sorted(ALL_ACTIVITY_IDS))
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        raise DataFormatError(
            f"{file}: line {row + 1} has activityID {activity[row]:g}; expected one of"
            f" {sorted(ALL_ACTIVITY_IDS)} in column 2"
        )
    signals = _forward_fill(data[:, list(columns)], file, columns)
    starts, labels = _window_starts(activity.astype(np.int64), window, stride)
    if not len(starts):
        return np.empty((0, len(columns), window), np.float32), np.empty(0, np.int64)
    view = np.lib.stride_tricks.sliding_window_view(signals, window, axis=0)  # (T', C, window)
    return np.ascontiguousarray(view[starts]), labels


def _window_starts(activity: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Start rows and class indices of the windows inside runs of one protocol activity."""
    change = np.flatnonzero(np.diff(activity)) + 1
    run_starts = np.concatenate([[0], change])
    run_ends = np.concatenate([change, [len(activity)]])
    class_of = {a: i for i, a in enumerate(PROTOCOL_ACTIVITIES)}
    starts: list[int] = []
    labels: list[int] = []
    for begin, end in zip(run_starts, run_ends, strict=True):
        label = class_of.get(int(activity[begin]))
        if label is None:
            continue
        run = range(int(begin), int(end) - window + 1, stride)
        starts.extend(run)
        labels.extend([label] * len(run))
    return np.asarray(starts, np.int64), np.asarray(labels, np.int64)


def _forward_fill(signals: np.ndarray, file: Path, columns: Sequence[int]) -> np.ndarray:
    """Fill each NaN with the last value above it (leading NaNs with the first value below)."""
    missing = np.isnan(signals)
    if not missing.any():
        return signals
    dead = missing.all(axis=0)
    if dead.any():
        column = columns[int(np.flatnonzero(dead)[0])] + 1
        raise DataFormatError(f"{file}: column {column} is NaN on every line; cannot fill it")
    rows = np.where(missing, 0, np.arange(len(signals))[:, None])
    np.maximum.accumulate(rows, axis=0, out=rows)
    filled = np.take_along_axis(signals, rows, axis=0)
    first_valid = np.argmax(~missing, axis=0)
    leading = np.arange(len(signals))[:, None] < first_valid
    return np.where(leading, signals[first_valid, np.arange(signals.shape[1])], filled)
