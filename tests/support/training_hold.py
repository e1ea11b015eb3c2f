"""A Lightning callback for tests: the first training batch writes ``training`` in the job's
folder and then waits (up to 2 minutes) until the test interrupts the sweep, so that the
signal lands while Lightning trains."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback


class HoldTraining(Callback):
    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        Path(HydraConfig.get().runtime.output_dir, "training").write_text("")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.05)
