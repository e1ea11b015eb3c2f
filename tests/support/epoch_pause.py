"""A Lightning callback for tests: each training epoch lasts at least ``seconds``, so that a
server's decision (W&B's hyperband) can arrive while the trial still trains."""

from __future__ import annotations

import time

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback


class EpochPause(Callback):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        time.sleep(self.seconds)
