"""A Lightning callback for tests: records the epochs the trainer completed and what the
W&B run's summary says about early termination."""

from __future__ import annotations

import json
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import WandbLogger


class EpochCounter(Callback):
    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        summary = {}
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                summary = dict(logger.experiment.summary)
        record = {
            "epochs": trainer.current_epoch,
            "stopped_early": summary.get("sweep/stopped_early", False),
            "stopped_at_step": summary.get("sweep/stopped_at_step"),
        }
        _write(record)

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        _write({"epochs": trainer.current_epoch, "failed": repr(exception)})


def _write(record: dict) -> None:
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    (output_dir / "epochs.json").write_text(json.dumps(record))
