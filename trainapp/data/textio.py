"""Reading whitespace-separated numeric text files with errors that name the file and line.

numpy's ``loadtxt`` is fast but its messages count rows inconsistently (0- or 1-based depending
on the error) and never name the file, so on failure the file is re-scanned in Python to point
at the first bad line. The slow path only runs when the file is already known to be broken.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from trainapp.errors import DataFormatError, DataNotFoundError


def require_dir(path: Path, expected: str) -> Path:
    """Return ``path`` if it is a folder, else raise naming it and what it should contain."""
    if not path.is_dir():
        state = "is not a folder" if path.exists() else "does not exist"
        raise DataNotFoundError(f"{path}: {state}; expected {expected}")
    return path


def read_matrix(path: Path, n_cols: int | None, expected: str) -> np.ndarray:
    """Read a 2-D float32 matrix; ``n_cols`` (if given) is the required number of columns.

    ``expected`` describes the file for error messages, e.g. "128 floats per line".
    Empty lines are skipped; ``NaN`` is read as a float NaN.
    """
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found; expected {expected}")
    try:
        with warnings.catch_warnings():
            # An empty file is reported below as a DataFormatError, not as a warning.
            warnings.simplefilter("ignore", UserWarning)
            matrix = np.loadtxt(path, dtype=np.float32, ndmin=2, comments=None)
    except ValueError as err:
        raise DataFormatError(
            f"{path}: {_first_problem(path, n_cols, err)}; expected {expected}"
        ) from None
    if matrix.size == 0:
        raise DataFormatError(f"{path}: the file has no data; expected {expected}")
    if n_cols is not None and matrix.shape[1] != n_cols:
        raise DataFormatError(
            f"{path}: line 1 has {matrix.shape[1]} values; expected {expected} ({n_cols} per line)"
        )
    return matrix


def _first_problem(path: Path, n_cols: int | None, err: ValueError) -> str:
    """Describe the first line that ``loadtxt`` could not read (1-based line numbers)."""
    width = n_cols
    with path.open(encoding="utf-8", errors="replace") as lines:
        for lineno, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields:
                continue
            for column, token in enumerate(fields, start=1):
                try:
                    float(token)
                except ValueError:
                    return f"line {lineno}, column {column}: {token[:40]!r} is not a number"
            if width is None:
                width = len(fields)
            elif len(fields) != width:
                return f"line {lineno} has {len(fields)} values where {width} were expected"
    return str(err)


def read_int_column(path: Path, expected: str, valid: range | None = None) -> np.ndarray:
    """Read a one-column file of integers (labels, subject ids); ``valid`` bounds the values."""
    column = read_matrix(path, 1, expected)[:, 0]
    bad = ~np.isfinite(column) | (column != np.round(column))
    if valid is not None:
        bad |= (column < valid.start) | (column >= valid.stop)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{path}: value {column[row]:g} on data line {row + 1} is not valid; expected {expected}"
        )
    return column.astype(np.int64)


def first_non_finite(matrix: np.ndarray) -> int | None:
    """Index of the first row holding NaN or infinity, or None."""
    rows = np.flatnonzero(~np.isfinite(matrix).all(axis=tuple(range(1, matrix.ndim))))
    return int(rows[0]) if len(rows) else None
