"""A Lightning callback for the preemption test: writes what each run of a trial's job saw
(where it started, each epoch it validated) to ``probe.jsonl`` in the job folder, and on the
job's first run waits after ``pause_after`` validated epochs (or, with ``pause_in_batch``,
after that many training batches of the next epoch) until SLURM signals the job, so that the
preemption lands at a known step whatever the machine's speed."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn


class PreemptionProbe(Callback):
    def __init__(
        self, pause_after: int, pause_in_batch: int | None = None, wait_s: float = 120.0
    ) -> None:
        self.pause_after = pause_after
        self.pause_in_batch = pause_in_batch
        self.wait_s = wait_s

    def _write(self, **record: Any) -> None:
        path = Path(HydraConfig.get().runtime.output_dir) / "probe.jsonl"
        with path.open("a") as out:
            out.write(json.dumps(record) + "\n")

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # after Lightning restored a checkpoint's loops: the epoch this run starts from
        self._write(
            event="train_start",
            epoch=trainer.current_epoch,
            global_step=trainer.global_step,
            restarts=int(os.environ.get("SLURM_RESTART_COUNT", "0")),
            slurm_job_id=os.environ.get("SLURM_JOB_ID"),
            wandb_run_id=os.environ.get("WANDB_RUN_ID"),
            wandb_resume=os.environ.get("WANDB_RESUME"),
            wandb_run=getattr(getattr(pl_module.logger, "experiment", None), "id", None),
        )

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        self._write(event="validated", epoch=trainer.current_epoch)
        if self.pause_in_batch is None and trainer.current_epoch + 1 == self.pause_after:
            self._wait_for_signal(trainer)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.current_epoch == self.pause_after and batch_idx + 1 == self.pause_in_batch:
            self._wait_for_signal(trainer)

    def _wait_for_signal(self, trainer: Trainer) -> None:
        if int(os.environ.get("SLURM_RESTART_COUNT", "0")) > 0:
            return  # the job's second run goes on
        self._write(event="waiting_for_signal", global_step=trainer.global_step)
        # SLURM's signal runs the handlers here, in the main thread; then the job exits
        threading.Event().wait(self.wait_s)
        self._write(event="no_signal_came")

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(event="fit_end", epoch=trainer.current_epoch, global_step=trainer.global_step)
