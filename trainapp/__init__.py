"""A small Lightning app for human-activity recognition (and one tabular dataset), composed by Hydra.

``train.py`` at the repository root calls :func:`trainapp.train.train`. Importing this package
is cheap; torch and Lightning are imported by the submodules that need them.
"""

from __future__ import annotations

from trainapp.errors import DataFormatError, DataNotFoundError, MetricNotFoundError

__all__ = ["DataFormatError", "DataNotFoundError", "MetricNotFoundError"]
