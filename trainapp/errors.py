"""Errors a user can cause with a config or a data folder; each message says what and where."""

from __future__ import annotations


class DataNotFoundError(FileNotFoundError):
    """A configured data path or one of the files it must contain does not exist."""


class DataFormatError(ValueError):
    """A data file exists but does not have the expected layout or content."""


class MetricNotFoundError(ValueError):
    """``optimized_metric`` names a metric that training did not log."""
