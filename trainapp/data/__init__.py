"""LightningDataModules; each knows its ``input_shape`` and ``num_classes`` before loading data."""

from __future__ import annotations

from trainapp.data.base import ArrayDataModule
from trainapp.data.digits import DigitsDataModule
from trainapp.data.pamap2 import Pamap2DataModule
from trainapp.data.split import Arrays
from trainapp.data.uci_har import UciHarDataModule
from trainapp.errors import DataFormatError, DataNotFoundError

__all__ = [
    "ArrayDataModule",
    "Arrays",
    "DataFormatError",
    "DataNotFoundError",
    "DigitsDataModule",
    "Pamap2DataModule",
    "UciHarDataModule",
]
