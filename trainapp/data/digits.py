"""scikit-learn's bundled handwritten digits: 1797 samples of 64 features (8x8 pixels), 10 classes.

A tabular dataset next to the sensor ones, so that ``data=digits`` shows a config-group swap
across unlike inputs: sequence models read the 64 features as one channel of 64 steps.
Nothing is downloaded; the data ships inside scikit-learn.
"""

from __future__ import annotations

import numpy as np

from trainapp.data.base import ArrayDataModule
from trainapp.data.split import Arrays

N_FEATURES = 64
N_CLASSES = 10


class DigitsDataModule(ArrayDataModule):
    """Digits as (64,) float tensors; validation is a random ``val_fraction`` chosen by ``seed``."""

    def __init__(
        self, batch_size: int = 64, seed: int = 42, val_fraction: float = 0.2, num_workers: int = 0
    ) -> None:
        # There are no subjects to hold out, so the split is always random.
        super().__init__(batch_size, seed, val_fraction, "random", num_workers)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (N_FEATURES,)

    @property
    def num_classes(self) -> int:
        return N_CLASSES

    def load_fit(self) -> Arrays:
        from sklearn.datasets import load_digits  # imported here: sklearn is slow to import

        digits = load_digits()
        return Arrays(digits.data.astype(np.float32), digits.target.astype(np.int64))
