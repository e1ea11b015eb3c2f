"""The shared LightningDataModule: load arrays once, split with the seed, standardise, serve batches.

A dataset module only says how to load its arrays (``load_fit``, optionally ``load_test``) and
what they look like (``input_shape``, ``num_classes``); both properties are known from the
config alone, so models can be built before any file is read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
from lightning import LightningDataModule
from torch.utils.data import DataLoader, TensorDataset

from trainapp.data.split import Arrays, SplitBy, Standardizer, split_indices
from trainapp.errors import DataFormatError


class ArrayDataModule(LightningDataModule, ABC):
    """Serves (x, y) batches from in-memory arrays, split into train/val by ``seed``."""

    def __init__(
        self,
        batch_size: int = 64,
        seed: int = 42,
        val_fraction: float = 0.2,
        split_by: SplitBy = "random",
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size must be a positive integer; got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0; got {num_workers}")
        self.batch_size = batch_size
        self.seed = seed
        self.val_fraction = val_fraction
        self.split_by: SplitBy = split_by
        self.num_workers = num_workers
        self._standardize: Standardizer | None = None
        self._sets: dict[str, TensorDataset] = {}

    @property
    @abstractmethod
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample: (channels, steps) for sequences, (features,) for tabular data."""

    @property
    @abstractmethod
    def num_classes(self) -> int:
        """Number of classes; labels are 0 .. num_classes - 1."""

    @property
    def has_test_split(self) -> bool:
        """Whether ``load_test`` gives a held-out test set (kept out of tuning)."""
        return False

    @abstractmethod
    def load_fit(self) -> Arrays:
        """Load the samples that are split into training and validation."""

    def load_test(self) -> Arrays:
        raise ValueError(f"{type(self).__name__} has no separate test split")

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit", "validate"):
            self._setup_fit()
        if stage in (None, "test") and self.has_test_split:
            self._setup_test()

    def _setup_fit(self) -> None:
        if "train" in self._sets:
            return
        pool = self._checked(self.load_fit(), "training data")
        train_idx, val_idx = split_indices(
            len(pool.y), pool.groups, self.val_fraction, self.seed, self.split_by
        )
        self._standardize = Standardizer.fit(pool.x[train_idx])
        self._sets["train"] = self._dataset(pool.take(train_idx))
        self._sets["val"] = self._dataset(pool.take(val_idx))

    def _setup_test(self) -> None:
        if "test" in self._sets:
            return
        self._setup_fit()  # the test set is standardised with the training statistics
        self._sets["test"] = self._dataset(self._checked(self.load_test(), "test data"))

    def _checked(self, arrays: Arrays, what: str) -> Arrays:
        if arrays.x.shape[1:] != self.input_shape:
            raise DataFormatError(
                f"{type(self).__name__}: {what} has samples of shape {arrays.x.shape[1:]};"
                f" expected {self.input_shape}"
            )
        if len(arrays.y) == 0:
            raise DataFormatError(f"{type(self).__name__}: {what} has no samples")
        low, high = int(arrays.y.min()), int(arrays.y.max())
        if low < 0 or high >= self.num_classes:
            raise DataFormatError(
                f"{type(self).__name__}: {what} has labels in [{low}, {high}];"
                f" expected 0 .. {self.num_classes - 1}"
            )
        return arrays

    def _dataset(self, arrays: Arrays) -> TensorDataset:
        assert self._standardize is not None
        x = torch.from_numpy(self._standardize(arrays.x))
        return TensorDataset(x, torch.from_numpy(arrays.y.astype(np.int64)))

    def dataset(self, split: str) -> TensorDataset:
        """The prepared ``train``, ``val`` or ``test`` dataset (after :meth:`setup`)."""
        if split not in self._sets:
            raise RuntimeError(f"the {split!r} split is not set up; call setup() first")
        return self._sets[split]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        if not self.has_test_split:
            raise ValueError(f"{type(self).__name__} has no separate test split")
        return self._loader("test", shuffle=False)
