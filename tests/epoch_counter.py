"""A Lightning callback for tests: writes how many epochs the trainer completed."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback


class EpochCounter(Callback):
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        output_dir = Path(HydraConfig.get().runtime.output_dir)
        (output_dir / "epochs.txt").write_text(str(trainer.current_epoch))
